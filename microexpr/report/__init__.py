"""microexpr.report"""
