"""microexpr.face"""
