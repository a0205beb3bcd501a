"""microexpr.sources"""
