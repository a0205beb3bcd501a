"""microexpr.synth"""
