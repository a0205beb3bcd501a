"""Hand-crafted descriptors as scikit-learn transformers over clips, and their SVMs.

- :class:`LBPTOP` (``lbptop.py``; LBP codes in ``lbp.py``): grey (T, H, W) or RGB
  (T, H, W, 3) clips -> block histograms on the XY, XT and YT planes.
- :class:`HOOF` (``hoof.py``): flow sequences (n, H, W, 2) -> orientation histograms.
- :class:`MDMO` (``mdmo.py``; ROIs in ``mdmo_rois.py``): (flows, 68 landmarks) pairs ->
  72 main-direction values.
- :class:`FeatureSVM` (``svm.py``): poly (degree 2) / linear / chi2 SVM with explicit
  standardisation and class weights; ``predict_proba`` = softmax of decision values.

Transformers take lists of per-clip arrays (lengths may differ) and learn nothing.
"""

from .hoof import HOOF, hoof_histograms
from .lbp import plane_codes
from .lbptop import LBPTOP, lbptop_histograms
from .mdmo import MDMO, mdmo_vector
from .svm import FeatureSVM

__all__ = ["HOOF", "LBPTOP", "MDMO", "FeatureSVM", "hoof_histograms", "lbptop_histograms", "mdmo_vector", "plane_codes"]
