"""microexpr.motion"""
