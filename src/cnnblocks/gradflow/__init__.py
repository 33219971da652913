"""The gradient-flow instrument: per-layer records of a backward pass, and three experiments
that make the vanishing gradient of deep sigmoid networks visible (plotted elsewhere)."""

from __future__ import annotations

from cnnblocks.gradflow.experiments import (
    SIGMOID_DERIVATIVE_BOUND,
    Attenuation,
    InitGradientsResult,
    InitRun,
    SaturationResult,
    TrainingCurvesResult,
    init_gradients,
    training_curves,
    weight_scale_saturation,
)
from cnnblocks.gradflow.record import LayerRecord, layer_kind, record_gradients

__all__ = [
    "SIGMOID_DERIVATIVE_BOUND",
    "Attenuation",
    "InitGradientsResult",
    "InitRun",
    "LayerRecord",
    "SaturationResult",
    "TrainingCurvesResult",
    "init_gradients",
    "layer_kind",
    "record_gradients",
    "training_curves",
    "weight_scale_saturation",
]
