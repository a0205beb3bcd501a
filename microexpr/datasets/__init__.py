"""microexpr.datasets"""
