"""Deep Shift layers, ResNet20 and conversion, checked against the paper's formulas on hand-made tensors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ecnas.dsnn import Lookahead, convert_to_shift, make_optimizer, resnet20, shift_layers, weight_layers
from ecnas.dsnn._quant import exponent_range, round_fixed_point, round_power_of_two


def _hand_count(width: int, in_channels: int, classes: int) -> int:
    """Parameters of CIFAR ResNet20 counted by hand: convs (no bias), batch norms (2 per channel), classifier."""
    convs = in_channels * width * 9
    bns = 2 * width
    channels = width
    for stage in range(3):
        out = width * 2**stage
        for _ in range(3):
            convs += channels * out * 9 + out * out * 9
            bns += 2 * 2 * out
            channels = out
    return convs + bns + channels * classes + classes


def test_resnet20_has_the_papers_parameter_count():
    model = resnet20()
    assert sum(p.numel() for p in model.parameters()) == 269_722 == _hand_count(16, 3, 10)
    assert len(weight_layers(model)) == 20
    small = resnet20(num_classes=10, in_channels=1, width=4)
    assert sum(p.numel() for p in small.parameters()) == _hand_count(4, 1, 10)
    assert small(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_resnet20_rejects_bad_options():
    with pytest.raises(ValueError, match="width"):
        resnet20(width=5)
    with pytest.raises(ValueError, match="num_classes"):
        resnet20(num_classes=0)


def test_exponent_range_follows_weight_bits():
    assert exponent_range(2) == (-1, 0)
    assert exponent_range(5) == (-15, 0)
    with pytest.raises(ValueError, match="weight_bits"):
        exponent_range(1)


def test_power_of_two_rounding_on_hand_made_weights():
    w = torch.tensor([0.3, -0.3, 0.0, 1.0, -0.7, 2.0**-20, 0.09])
    q = round_power_of_two(w, weight_bits=5)
    # log2 0.3 = -1.74 -> -2; log2 0.7 = -0.51 -> -1; 2^-20 clamps to 2^-15; log2 0.09 = -3.47 -> -3
    assert q.tolist() == [0.25, -0.25, 0.0, 1.0, -0.5, 2.0**-15, 0.125]
    assert round_power_of_two(torch.tensor([0.1]), weight_bits=2).tolist() == [0.5]


def test_fixed_point_rounding_is_exact_on_hand_made_tensors():
    x = torch.tensor([0.3, -0.3, 1.26, 100.0, -100.0, 0.125])
    q = round_fixed_point(x, integer_bits=3, fraction_bits=2)
    # multiples of 1/4 in [-4, 3.75]
    assert q.tolist() == [0.25, -0.25, 1.25, 3.75, -4.0, 0.0]
    assert round_fixed_point(torch.tensor([0.7]), 2, 0).tolist() == [1.0]


def test_stochastic_rounding_is_unbiased():
    generator = torch.Generator().manual_seed(0)
    x = torch.full((200_000,), 0.3)
    q = round_fixed_point(x, 4, 1, "stochastic", generator)  # grid 0.5: 0.0 or 0.5
    assert set(q.unique().tolist()) == {0.0, 0.5}
    assert abs(q.mean().item() - 0.3) < 0.005
    w = torch.full((200_000,), 2.0**-2.25)
    qw = round_power_of_two(w, 5, "stochastic", generator)  # 2^-2 w.p. 0.75, 2^-3 w.p. 0.25
    assert abs((torch.log2(qw)).mean().item() + 2.25) < 0.01


@pytest.mark.parametrize("shift_type", ["Q", "PS"])
@pytest.mark.parametrize("weight_bits", [2, 3, 5, 8])
def test_effective_weights_are_signed_powers_of_two(shift_type, weight_bits):
    model, converted = convert_to_shift(
        resnet20(in_channels=1, width=4, seed=0), 20, shift_type, weight_bits=weight_bits
    )
    assert converted == 20
    low, high = exponent_range(weight_bits)
    for _, layer in shift_layers(model):
        w = layer.effective_weight()
        nonzero = w[w != 0].abs()
        k = torch.log2(nonzero)
        assert torch.equal(k, torch.round(k))
        assert k.min().item() >= low and k.max().item() <= high
        assert set(layer.effective_sign().unique().tolist()) <= {-1.0, 0.0, 1.0}


def test_ps_signs_are_ternary_and_can_be_zero():
    model, _ = convert_to_shift(nn.Sequential(nn.Linear(4, 3)), 1, "PS")
    layer = model[0]
    with torch.no_grad():
        layer.sign.copy_(torch.tensor([[0.4, -0.6, 1.7, -0.2]] * 3))
        layer.shift.copy_(torch.full((3, 4), -1.3))
    assert layer.effective_sign()[0].tolist() == [0.0, -1.0, 1.0, 0.0]
    assert layer.effective_weight()[0].tolist() == [0.0, -0.5, 0.5, 0.0]
    layer.eval()
    x = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    expected = x @ layer.effective_weight().T + round_fixed_point(layer.bias.detach(), 16, 16)
    assert torch.allclose(layer(x), expected)


def test_forward_multiplies_by_the_effective_weight():
    source = nn.Conv2d(2, 3, 3, padding=1, bias=False)
    model, _ = convert_to_shift(nn.Sequential(source), 1, "Q", act_integer_bits=4, act_fraction_bits=3)
    layer = model[0].eval()
    x = torch.randn(1, 2, 5, 5)
    expected = nn.functional.conv2d(round_fixed_point(x, 4, 3), layer.effective_weight(), padding=1)
    assert torch.allclose(layer(x), expected)


@pytest.mark.parametrize("depth", [0, 1, 2, 5, 19, 20])
def test_shift_depth_converts_exactly_the_last_layers(depth):
    base = resnet20(in_channels=1, width=4, seed=0)
    names = [name for name, _ in weight_layers(base)]
    model, converted = convert_to_shift(base, depth, "PS")
    assert converted == depth
    assert [name for name, _ in shift_layers(model)] == names[len(names) - depth :]
    assert not shift_layers(base)  # the input model is untouched
    if depth:
        assert shift_layers(model)[-1][0] == "linear"


def test_conversion_rejects_bad_arguments():
    base = resnet20(in_channels=1, width=4)
    with pytest.raises(ValueError, match="shift_depth"):
        convert_to_shift(base, 21, "PS")
    with pytest.raises(ValueError, match="shift_type"):
        convert_to_shift(base, 1, "X")
    with pytest.raises(ValueError, match="rounding"):
        convert_to_shift(base, 0, "Q", rounding="nearest")


@pytest.mark.parametrize("shift_type", ["Q", "PS"])
@pytest.mark.parametrize("rounding", ["deterministic", "stochastic"])
def test_one_training_step_lowers_the_loss(shift_type, rounding):
    torch.manual_seed(0)
    x = torch.randn(32, 1, 8, 8)
    y = torch.randint(0, 10, (32,))
    model, _ = convert_to_shift(resnet20(in_channels=1, width=4, seed=1), 20, shift_type, rounding=rounding)
    optimizer = make_optimizer("Adam", model.parameters(), learning_rate=0.01)

    def loss_in_eval() -> float:
        model.eval()
        with torch.no_grad():
            return nn.functional.cross_entropy(model(x), y).item()

    before = loss_in_eval()
    for _ in range(5):
        model.train()
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    assert loss_in_eval() < before


def test_lookahead_interpolates_slow_and_fast_weights():
    p = nn.Parameter(torch.tensor([0.0]))
    inner = torch.optim.SGD([p], lr=1.0)
    opt = Lookahead(inner, k=2, alpha=0.5)
    for _ in range(2):
        opt.zero_grad()
        (-p.sum()).backward()  # gradient -1: each fast step adds 1
        opt.step()
    # fast reached 2 after k=2 steps; slow moves half way from 0: 1, and fast restarts there
    assert p.item() == pytest.approx(1.0)
    opt.zero_grad()
    (-p.sum()).backward()
    opt.step()
    assert p.item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="alpha"):
        Lookahead(inner, alpha=0.0)


def test_every_table1_optimizer_builds_and_steps():
    from ecnas.dsnn import OPTIMIZERS

    for name in OPTIMIZERS:
        p = nn.Parameter(torch.ones(3))
        opt = make_optimizer(name, [p], learning_rate=0.01, momentum=0.9, weight_decay=1e-4)
        (p**2).sum().backward()
        opt.step()
        assert math.isfinite(p.sum().item()) and p.sum().item() < 3.0, name
    with pytest.raises(ValueError, match="valid optimizers"):
        make_optimizer("LBFGS", [nn.Parameter(torch.ones(1))], learning_rate=0.1)
