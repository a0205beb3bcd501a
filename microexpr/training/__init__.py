"""microexpr.training"""
