"""microexpr.features"""
