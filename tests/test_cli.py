"""The command line through typer's test runner: happy paths and one-line errors (exit code 2)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnblocks.cli import app

runner = CliRunner()


def read_image(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def run(*args: str) -> object:
    return runner.invoke(app, list(args))


def assert_one_line_error(result: object, *fragments: str) -> str:
    """Exit code 2, exactly one line on stderr starting with 'Error:', no traceback anywhere."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, result.stderr  # type: ignore[attr-defined]
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stdout + result.stderr  # type: ignore[attr-defined]
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def assert_no_files_but(directory: Path, *names: str) -> None:
    """Nothing but ``names`` in ``directory``: no output and no leftover temporary file."""
    assert sorted(p.name for p in directory.iterdir()) == sorted(names)


@pytest.mark.parametrize(
    "command",
    [[], ["shape"], ["pool"], ["plot"], ["plot", "activations"], ["gradflow"], ["train"], ["demo"]],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


# ---- shape ---------------------------------------------------------------------------------


def test_shape_fills_in_the_formula_and_drops_the_ceil_window() -> None:
    # SEMANTICS.md: L=9, k=4, s=4, p=2, ceil -> ceil((9+4-4)/4)+1 = 4, last window starts at
    # 3*4 = 12 >= 9 + 2, dropped -> 3.
    result = run("shape", "1,3,9,9", "-k", "4", "-s", "4", "-p", "2", "--ceil-mode")
    assert result.exit_code == 0, result.stderr
    assert "= ceil((9 + 2 + 2 - 1*(4 - 1) - 1) / 4) + 1 = 4" in result.stdout
    assert "- 1 = 3: the last window would start at (4 - 1)*4 = 12 >= H + p_h1 = 11" in (
        result.stdout
    )
    assert "dropped" in result.stdout
    assert "(1, 3, 3, 3)" in result.stdout


def test_shape_lesson_asymmetric_padding_and_spatial_only_input() -> None:
    # (H + p_h1 + p_h2 - k)/S + 1 = (4 + 0 + 1 - 2)/1 + 1 = 4 on both axes.
    result = run("shape", "4,4", "-k", "2", "-s", "1", "-p", "0,1,0,1")
    assert result.exit_code == 0, result.stderr
    assert "(top, bottom) = (0, 1), (left, right) = (0, 1)" in result.stdout
    assert "output (N, C, H_out, W_out) = (1, 1, 4, 4)" in result.stdout


def test_shape_same_and_pairs_and_channels_last() -> None:
    same = run("shape", "1,28,28,3", "-k", "3", "-s", "2", "-p", "SAME", "--channels-last")
    assert same.exit_code == 0, same.stderr
    assert "(1, 14, 14, 3)" in same.stdout  # SAME: ceil(28 / 2) = 14, channels last kept
    pairs = run("shape", "1,1,8,8", "-k", "3", "-p", "((1,0),(0,2))")
    assert pairs.exit_code == 0, pairs.stderr
    assert "(top, bottom) = (1, 0), (left, right) = (0, 2)" in pairs.stdout


def test_shape_compare_lists_the_frameworks() -> None:
    result = run("shape", "1,1,5,5", "-k", "2", "-s", "2", "-p", "1", "--ceil-mode", "--compare")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for name in ("PyTorch", "ONNX", "onnxruntime", "TensorFlow/Keras", "Paddle"):
        assert name in out
    paddle_row = next(line for line in out.splitlines() if "Paddle" in line)
    assert "4 x 4" in paddle_row  # SEMANTICS.md: Paddle omits the drop, 5,2,2,1 -> 4
    torch_row = next(line for line in out.splitlines() if "PyTorch" in line)
    assert "3 x 3" in torch_row


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["shape", "28,28", "-k", "0"], "--kernel"),
        (["shape", "a,b"], "INPUT_SHAPE"),
        (["shape", "28,28", "-p", "(1,"], "--padding"),
        (["shape", "28,28", "-p", "FULL"], "'padding'"),
        (["shape", "3,3", "-k", "5"], "< 1 along H"),
        (["shape", "1,1,1,1,1,1,1", "-k", "2"], "at most 5 sizes"),
        (["shape", "8,8", "-k", "2", "-p", "2"], "lies wholly in the padding"),
    ],
)
def test_shape_bad_input_is_one_line(args: list[str], fragment: str) -> None:
    assert_one_line_error(run(*args), fragment)


def test_typer_usage_errors_also_exit_2() -> None:
    result = run("shape")  # missing argument
    assert result.exit_code == 2
    assert "Traceback" not in result.stdout + result.stderr


# ---- pool ----------------------------------------------------------------------------------


@pytest.fixture
def rgb_png(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(6, 4, 3), dtype=np.uint8)
    path = tmp_path / "in.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


def test_pool_max_per_channel_matches_window_maxima(
    tmp_path: Path, rgb_png: tuple[Path, np.ndarray]
) -> None:
    source, pixels = rgb_png
    out = tmp_path / "out.png"
    result = run("pool", str(source), "-o", str(out), "-k", "2")
    assert result.exit_code == 0, result.stderr
    got = read_image(out)
    expected = pixels.reshape(3, 2, 2, 2, 3).max(axis=(1, 3))  # each 2x2 block, each channel
    np.testing.assert_array_equal(got, expected)


def test_pool_avg_rounds_the_window_means(tmp_path: Path, rgb_png: tuple[Path, np.ndarray]) -> None:
    source, pixels = rgb_png
    out = tmp_path / "out.png"
    result = run("pool", str(source), "-o", str(out), "--mode", "avg", "-k", "2")
    assert result.exit_code == 0, result.stderr
    expected = np.rint(pixels.astype(float).reshape(3, 2, 2, 2, 3).mean(axis=(1, 3)))
    np.testing.assert_array_equal(read_image(out), expected.astype(np.uint8))


def test_pool_lp_is_the_power_mean_and_keeps_grey(tmp_path: Path) -> None:
    grey = np.array([[0, 30, 10, 10], [40, 0, 10, 10]], dtype=np.uint8)
    source = tmp_path / "grey.png"
    Image.fromarray(grey).save(source)
    out = tmp_path / "out.png"
    result = run("pool", str(source), "-o", str(out), "-m", "lp", "--p", "2", "-k", "2")
    assert result.exit_code == 0, result.stderr
    got = read_image(out)
    # sqrt((0 + 900 + 1600 + 0)/4) = 25; sqrt(4*100/4) = 10
    np.testing.assert_array_equal(got, np.array([[25, 10]], dtype=np.uint8))


def test_pool_with_stride_padding_to_jpeg(tmp_path: Path, rgb_png: tuple[Path, np.ndarray]) -> None:
    source, _ = rgb_png
    out = tmp_path / "out.jpg"
    result = run("pool", str(source), "-o", str(out), "-k", "3", "-s", "2", "-p", "0,1,0,1")
    assert result.exit_code == 0, result.stderr
    # (6 + 0 + 1 - 3)/2 + 1 = 3 rows, (4 + 0 + 1 - 3)/2 + 1 = 2 columns
    assert read_image(out).shape[:2] == (3, 2)


@pytest.mark.parametrize(
    ("make_args", "fragment"),
    [
        (lambda d, src: ["pool", str(d / "missing.png"), "-o", str(d / "out.png")], "No such file"),
        (lambda d, src: ["pool", str(src), "-o", str(d / "out.xyz")], "extension"),
        (lambda d, src: ["pool", str(src), "-o", str(d / "out.png"), "-k", "9"], "< 1 along H"),
        (lambda d, src: ["pool", str(src), "-o", str(d / "out.png"), "-m", "median"], "'mode'"),
        (
            lambda d, src: ["pool", str(src), "-o", str(d / "out.png"), "-m", "lp", "--p", "0.5"],
            "'p'",
        ),
        (lambda d, src: ["pool", str(src), "-o", str(d / "no" / "out.png")], "No such"),
    ],
)
def test_pool_bad_input_leaves_no_file(
    tmp_path: Path, rgb_png: tuple[Path, np.ndarray], make_args: object, fragment: str
) -> None:
    source, _ = rgb_png
    assert_one_line_error(run(*make_args(tmp_path, source)), fragment)  # type: ignore[operator]
    assert_no_files_but(tmp_path, "in.png")


def test_pool_rejects_a_file_that_is_not_an_image(tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    assert_one_line_error(run("pool", str(fake), "-o", str(tmp_path / "o.png")), "cannot read")
    assert_no_files_but(tmp_path, "fake.png")


# ---- plot activations ----------------------------------------------------------------------


def test_plot_activations_png_and_svg(tmp_path: Path) -> None:
    png, svg = tmp_path / "act.png", tmp_path / "act.svg"
    assert run("plot", "activations", "-o", str(png)).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = run("plot", "activations", "-o", str(svg), "--name", "tanh", "--name", "gelu")
    assert result.exit_code == 0, result.stderr
    assert b"<svg" in svg.read_bytes()[:500]
    assert_no_files_but(tmp_path, "act.png", "act.svg")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-o", "{d}/a.txt"], ".png"),
        (["-o", "{d}/a.png", "--name", "swishy"], "'sigmoid'"),
        (["-o", "{d}/missing/a.png"], "No such"),
    ],
)
def test_plot_activations_bad_input(tmp_path: Path, args: list[str], fragment: str) -> None:
    filled = [a.format(d=tmp_path) for a in args]
    assert_one_line_error(run("plot", "activations", *filled), fragment)
    assert_no_files_but(tmp_path)


# ---- gradflow ------------------------------------------------------------------------------


def test_gradflow_prints_a_table_and_writes_figures(tmp_path: Path) -> None:
    out = tmp_path / "figs"
    result = run(
        "gradflow",
        "--quick",
        "--depth",
        "3",
        "--width",
        "8",
        "--batch-size",
        "16",
        "-a",
        "sigmoid",
        "-a",
        "relu",
        "-i",
        "xavier",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    assert "sigmoid" in result.stdout
    assert "relu" in result.stdout
    assert "bound 1/4" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["layer-norms.png", "sigmoid-attenuation.png"]


def test_gradflow_bad_input(tmp_path: Path) -> None:
    assert_one_line_error(
        run("gradflow", "--quick", "-a", "swishy", "-o", str(tmp_path / "f")), "swishy"
    )
    assert_no_files_but(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_error(
        run("gradflow", "--quick", "--depth", "2", "-o", str(blocker)), "Not a directory"
    )


# ---- train ---------------------------------------------------------------------------------


def test_train_mlp_on_digits_and_save(tmp_path: Path) -> None:
    target = tmp_path / "model.npz"
    result = run(
        "train",
        "--model",
        "mlp",
        "--depth",
        "1",
        "--width",
        "16",
        "--epochs",
        "1",
        "--no-progress",
        "--save",
        str(target),
    )
    assert result.exit_code == 0, result.stderr
    assert "test accuracy:" in result.stdout
    with np.load(target) as saved:
        assert any(k.endswith("weight") for k in saved.files)
    assert_no_files_but(tmp_path, "model.npz")


def _write_idx(path: Path, array: np.ndarray) -> None:
    # IDX: two zero bytes, type 0x08 (uint8), the rank, then big-endian int32 sizes and the data.
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_train_lenet_on_idx_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name, n in (("train", 40), ("test", 10)):
        _write_idx(tmp_path / f"{name}-images", rng.integers(0, 256, (n, 12, 12)))
        _write_idx(tmp_path / f"{name}-labels", rng.integers(0, 3, n))
    result = run(
        "train",
        "--epochs",
        "1",
        "--no-progress",
        "--train-images",
        str(tmp_path / "train-images"),
        "--train-labels",
        str(tmp_path / "train-labels"),
        "--test-images",
        str(tmp_path / "test-images"),
        "--test-labels",
        str(tmp_path / "test-labels"),
    )
    assert result.exit_code == 0, result.stderr
    assert "40 train, 10 test" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--model", "cnn"], "--model"),
        (["--optimizer", "lbfgs"], "--optimizer"),
        (["--save", "{d}/model.txt"], ".npz"),
        (["--save", "{d}/missing/model.npz"], "No such directory"),
        (["--train-images", "{d}/x"], "go together"),
        (["--model", "mlp", "--activation", "swishy", "--epochs", "1"], "swishy"),
    ],
)
def test_train_bad_input(tmp_path: Path, args: list[str], fragment: str) -> None:
    filled = [a.format(d=tmp_path) for a in args]
    assert_one_line_error(run("train", "--no-progress", *filled), fragment)
    assert_no_files_but(tmp_path)


def test_train_bad_idx_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03")
    args = ["--train-images", "--train-labels", "--test-images", "--test-labels"]
    flat = [x for a in args for x in (a, str(bad))]
    assert_one_line_error(run("train", "--no-progress", *flat))


# ---- demo (the happy path is in test_report_e2e.py) ---------------------------------------


def test_demo_bad_language() -> None:
    assert_one_line_error(run("demo", "--lang", "fr"), "--lang")


def test_demo_refuses_a_directory_with_other_files(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("mine")
    assert_one_line_error(run("demo", "--out", str(tmp_path), "--size", "tiny"), "other files")
    assert precious.read_text() == "mine"
    assert_no_files_but(tmp_path, "notes.txt")


# ---- the console-script entry point ---------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "--epochs", "abc"], "Invalid value for '--epochs'"),
        (["shape"], "Missing argument"),
        (["nosuch"], "No such command"),
        (["shape", "28,28", "-k", "0"], "--kernel"),
    ],
)
def test_main_turns_usage_errors_into_one_line(
    argv: list[str],
    fragment: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cnnblocks.cli import main

    monkeypatch.setattr("sys.argv", ["cnnblocks", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("Error: ")
    assert fragment in err[0]


def test_main_success_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cnnblocks.cli import main

    monkeypatch.setattr("sys.argv", ["cnnblocks", "shape", "28,28"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    assert "(1, 1, 14, 14)" in capsys.readouterr().out
