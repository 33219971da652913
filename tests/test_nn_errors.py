"""Bad input gets a clear ParameterError naming where, what rule, and what was received."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cnnblocks.errors import ParameterError
from cnnblocks.init import get_initializer
from cnnblocks.losses import CrossEntropyLoss, cross_entropy_forward, mse_forward
from cnnblocks.models import lenet, mlp
from cnnblocks.nn import (
    Activation,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    ReLU,
    Sequential,
)
from cnnblocks.optim import SGD, Adam


def test_sequential_shape_mismatch_names_layer_and_both_shapes() -> None:
    model = Sequential(Flatten(), Linear(64, 10), ReLU(), Linear(12, 3))
    with pytest.raises(ParameterError) as info:
        model(np.zeros((5, 1, 8, 8), dtype=np.float32))
    msg = str(info.value)
    assert "layer 3 (Linear)" in msg
    assert "(N, 12)" in msg
    assert "(5, 10)" in msg
    assert "layer 2 (ReLU)" in msg


def test_conv_channel_mismatch_in_a_network() -> None:
    model = Sequential(Conv2d(1, 4, 3), Conv2d(3, 2, 3))
    with pytest.raises(ParameterError, match=re.escape(
            "layer 1 (Conv2d) expected an input of shape (N, 3, H, W) but got shape "
            "(2, 4, 6, 6)")):
        model(np.zeros((2, 1, 8, 8), dtype=np.float32))


def test_first_layer_mismatch_and_wrong_rank() -> None:
    with pytest.raises(ParameterError, match=re.escape("Linear expected an input of shape (N, 4)"
                                                       " but got shape (2, 5)")):
        Linear(4, 2)(np.zeros((2, 5)))
    with pytest.raises(ParameterError, match=re.escape("(N, 3) but got shape (2, 3, 4, 4)")):
        BatchNorm1d(3)(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ParameterError, match=re.escape("(N, 3, H, W) but got shape (2, 3)")):
        BatchNorm2d(3)(np.zeros((2, 3)))


def test_conv_too_small_input_shows_the_formula() -> None:
    with pytest.raises(ParameterError, match=re.escape("floor((3 + 0 + 0 - 1*(5-1) - 1) / 1)")):
        Conv2d(1, 1, 5)(np.zeros((1, 1, 3, 3)))


def test_unknown_activation_lists_the_choices() -> None:
    with pytest.raises(ParameterError) as info:
        Activation("sigmod")
    msg = str(info.value)
    assert "'name' parameter of Activation()" in msg
    assert "'sigmoid'" in msg
    assert "'relu'" in msg
    assert "Got 'sigmod' instead." in msg
    with pytest.raises(ParameterError, match="'activation' parameter of mlp"):
        mlp(3, 8, "rectifier")
    with pytest.raises(ParameterError, match="'activation' parameter of lenet"):
        lenet("swishy")
    with pytest.raises(ParameterError, match=re.escape("must be one of {'max', 'avg'}")):
        lenet(pool="min")


def test_unknown_activation_option() -> None:
    with pytest.raises(ParameterError, match=re.escape(
            "The 'kwargs' parameter of Activation() must be one of {'negative_slope'} for "
            "leaky_relu. Got 'alpha' instead.")):
        Activation("leaky_relu", alpha=0.1)
    with pytest.raises(ParameterError, match="absent: relu takes no options"):
        Activation("relu", inplace=True)


def test_unknown_initialiser_lists_the_choices() -> None:
    with pytest.raises(ParameterError) as info:
        get_initializer("glorot_magic")
    msg = str(info.value)
    assert "'name' parameter of get_initializer()" in msg
    assert "'xavier_uniform'" in msg
    assert "'kaiming_normal'" in msg
    assert "'he'" in msg
    with pytest.raises(ParameterError, match="get_initializer"):
        mlp(2, 4, "relu", init="lecun")
    with pytest.raises(ParameterError, match="get_initializer"):
        Conv2d(1, 1, 3, init="zeros")


def test_wrong_label_range_names_the_range() -> None:
    logits = np.zeros((3, 4))
    with pytest.raises(ParameterError, match=re.escape(
            "class indices in [0, 4) for logits with 4 classes. Got labels in [0, 4] "
            "(e.g. 4)")):
        cross_entropy_forward(logits, np.array([0, 4, 1]))
    with pytest.raises(ParameterError, match=re.escape("Got labels in [-1, 2]")):
        CrossEntropyLoss()(logits, np.array([-1, 2, 1]))
    with pytest.raises(ParameterError, match="integer class indices"):
        cross_entropy_forward(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ParameterError, match=re.escape("shape (N,) = (3,)")):
        cross_entropy_forward(logits, np.array([0, 1]))


def test_mse_shape_mismatch() -> None:
    with pytest.raises(ParameterError, match=re.escape("shape of 'pred', (2, 3)")):
        mse_forward(np.zeros((2, 3)), np.zeros((3, 2)))


def test_backward_before_forward() -> None:
    with pytest.raises(ParameterError, match=re.escape("Linear.backward() was called before "
                                                       "forward()")):
        Linear(2, 2).backward(np.zeros((1, 2)))
    with pytest.raises(ParameterError, match="before the loss was computed"):
        CrossEntropyLoss().backward()


def test_bad_hyperparameters() -> None:
    params = Linear(2, 2).parameters()
    with pytest.raises(ParameterError, match="'lr' parameter of SGD"):
        SGD(params, lr=0)
    with pytest.raises(ParameterError, match="'nesterov' parameter of SGD"):
        SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ParameterError, match="'betas' parameter of Adam"):
        Adam(params, betas=(0.9, 1.0))
    with pytest.raises(ParameterError, match=re.escape("'p' parameter of Dropout() must be a "
                                                       "real number in [0, 1)")):
        Dropout(1.0)
    with pytest.raises(ParameterError, match="'padding' parameter of Conv2d"):
        Conv2d(1, 1, 3, padding="FULL")
    with pytest.raises(ParameterError, match="'kernel_size' parameter of Conv2d"):
        Conv2d(1, 1, 0)
    with pytest.raises(ParameterError, match="'depth' parameter of mlp"):
        mlp(0, 4)
