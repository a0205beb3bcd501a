"""microexpr: facial micro-expression recognition under one leakage-proof protocol engine.

Layers (data flows top to bottom): datasets -> labels -> video -> face -> motion -> inputs
-> features/models -> methods -> training -> protocols -> metrics -> runs -> report -> cli.
See README.md and docs/CONTRACTS.md.
"""

__version__ = "0.1.0"
