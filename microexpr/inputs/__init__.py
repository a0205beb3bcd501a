"""microexpr.inputs"""
