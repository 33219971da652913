"""The report's parts: translations, the HTML writer, the experiments and single sections."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pytest

from cnnblocks.errors import ParameterError
from cnnblocks.report.build import build_report
from cnnblocks.report.context import ReportContext
from cnnblocks.report.document import Figure, Note, Paragraph, Report, Section, Table, render_html
from cnnblocks.report.experiments import (
    conv_relu,
    fc_cost,
    lenet_flat_features,
    shift_on_canvas,
    translation_invariance,
)
from cnnblocks.report.strings import TEXT, translate


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(TEXT))
def test_every_text_has_both_languages_with_the_same_fields(key: str) -> None:
    english, chinese = TEXT[key]
    assert english.strip()
    assert chinese.strip()
    assert _fields(english) == _fields(chinese), key
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), key  # really Chinese


def test_translate_fills_numbers_and_rejects_unknown_language() -> None:
    assert translate("en", "s7.tab.caption", n=450) == "On 450 test digits."
    assert translate("zh", "s7.tab.caption", n=450) == "在 450 张测试图像上。"
    with pytest.raises(ParameterError, match="'lang' parameter of translate"):
        translate("fr", "title")


def test_render_html_escapes_text_and_keeps_images_relative() -> None:
    section = Section("k", "A <b> title", "claim & more", "method", verdict="ok", holds=True)
    partial = Section("p", "t", "c", "m", verdict="some", holds=False, partly=True)
    section.blocks += [
        Paragraph("x < y"),
        Note("note"),
        Figure("figures/a.png", 'alt "q"', "cap"),
        Table(["h1", "h2"], [["1", "<2>"]], "caption"),
    ]
    page = render_html(
        Report(
            "zh",
            "T",
            "sub",
            {"claim": "C", "method": "M", "verdict": "V", "environment": "E"},
            [section, partial],
            [("numpy", "2.x")],
        )
    )
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="zh">' in page
    assert '<meta charset="utf-8">' in page
    assert "A &lt;b&gt; title" in page
    assert "x &lt; y" in page
    assert "&lt;2&gt;" in page
    assert '<img src="figures/a.png" alt="alt &quot;q&quot;"' in page
    assert 'class="verdict holds"' in page
    assert 'class="verdict partly"' in page
    assert "<script" not in page  # nothing to fetch from a server
    assert "http" not in page


def test_shift_on_canvas_moves_without_cropping() -> None:
    image = np.arange(4.0).reshape(1, 2, 2)
    moved = shift_on_canvas(image, 1, 0, 1)
    expected = np.zeros((1, 4, 4))
    expected[0, 1:3, 2:4] = image[0]
    np.testing.assert_array_equal(moved, expected)


def test_conv_relu_is_the_valid_cross_correlation() -> None:
    image = np.arange(9.0).reshape(1, 3, 3)
    filters = np.array([[[1.0, 0.0], [0.0, -1.0]], [[-1.0, 0.0], [0.0, 0.0]]])
    out = conv_relu(image, filters)
    # filter 0: x[i,j] - x[i+1,j+1] = -4 everywhere -> relu 0; filter 1: -x[i,j] <= 0 -> 0 ...
    np.testing.assert_array_equal(out, np.zeros((1, 2, 2, 2)))
    out = conv_relu(image, -filters)
    np.testing.assert_array_equal(out[0, 0], np.full((2, 2), 4.0))
    np.testing.assert_array_equal(out[0, 1], np.array([[0.0, 1.0], [3.0, 4.0]]))


def test_max_pooling_keeps_a_feature_that_moves_inside_its_window() -> None:
    # One bright pixel at (1, 1): on the canvas (border 1) it sits at (2, 2); shifted right or
    # down by 1 it lands at (2, 3) or (3, 2), inside the same 2x2 pooling window (rows and
    # columns 2..3). The max-pooled map is unchanged; the conv map (a 1x1 identity filter)
    # loses the pixel at one place and gains it at another.
    image = np.zeros((1, 4, 4))
    image[0, 1, 1] = 1.0
    conv1, max1, avg1 = translation_invariance(image, np.ones((1, 1, 1)), (1,))
    assert (conv1.stage, max1.stage, avg1.stage) == (
        "conv",
        "conv + max pool 2x2",
        "conv + avg pool 2x2",
    )
    assert conv1.unchanged == 0.0  # |-1| + |+1| over 1
    assert conv1.relative_change == 2.0
    assert max1.unchanged == 1.0
    assert max1.relative_change == 0.0
    assert avg1.unchanged == 1.0  # same window, same mean
    assert avg1.relative_change == 0.0


def test_lenet_first_fc_sizes_match_the_models() -> None:
    # By hand: 8x8 -> pool 4x4 -> conv pad 2 4x4 -> pool 2x2: 16*2*2 = 64; without pools 16*8*8.
    assert lenet_flat_features(8, True) == 64
    assert lenet_flat_features(8, False) == 1024
    # Classic LeNet: 28 -> 14 -> 10 -> 5: 16*5*5 = 400; without pools 28 -> 24: 16*24*24.
    assert lenet_flat_features(28, True) == 400
    assert lenet_flat_features(28, False) == 9216
    cost = fc_cost(28, True)
    assert (cost.parameters, cost.multiplies) == (400 * 120 + 120, 400 * 120)
    from cnnblocks.models import lenet
    from cnnblocks.nn import Linear

    for size in (8, 28):
        first_fc = next(m for m in lenet(input_size=size) if isinstance(m, Linear))
        assert first_fc.weight.value.shape[1] == lenet_flat_features(size, True)


def test_cheap_sections_in_chinese(tmp_path: Path) -> None:
    # English runs end to end in test_report_e2e.py; here the same sections in Chinese.
    from cnnblocks.report.activation_claims import sigmoid_relu_section
    from cnnblocks.report.pooling_claims import output_size_section, summary_section

    ctx = ReportContext(tmp_path, "zh", "tiny", 0)
    for build in (summary_section, output_size_section, sigmoid_relu_section):
        section = build(ctx)
        assert section.holds is True, (section.key, section.verdict)
        assert section.claim
        assert section.method
        assert section.verdict
        assert "成立" in section.verdict
    assert {p.name for p in (tmp_path / "figures").iterdir()} == {
        "s1-worked-example.png",
        "s1-digit.png",
        "s1-digit-sheet.png",
        "s5-sigmoid-relu.png",
    }


def test_build_report_checks_its_arguments(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="'lang' parameter of build_report"):
        build_report(tmp_path / "r", lang="de")
    with pytest.raises(ParameterError, match="'size' parameter of build_report"):
        build_report(tmp_path / "r", size="huge")
    with pytest.raises(ParameterError, match="'seed' parameter of build_report"):
        build_report(tmp_path / "r", seed=-1)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ParameterError, match="a file"):
        build_report(blocker)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_failing_section_leaves_no_half_written_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cnnblocks.cli import app
    from cnnblocks.report import build

    def fine(ctx: ReportContext) -> Section:
        return Section("fine", "t", "c", "m", verdict="v")

    def broken(ctx: ReportContext) -> Section:
        raise ParameterError("The 'x' parameter of broken() must be fine. Got 1 instead.")

    monkeypatch.setattr(build, "_builders", lambda: [("fine", fine), ("broken", broken)])
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--no-progress"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: The 'x' parameter of broken() must be fine. Got 1 instead."
    )
    assert list(tmp_path.iterdir()) == []  # neither the report nor its temporary directory
