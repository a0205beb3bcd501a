"""Torch models of the papers, behind one registry (``create_model``) and one interface.

Every model implements ``forward_features(x)``, ``forward_head(features)``,
``num_features`` (width of the features the head sees) and
``reset_classifier(num_classes)``; ``forward(x) == forward_head(forward_features(x))``.
"""

from .registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
