"""microexpr.runs"""
