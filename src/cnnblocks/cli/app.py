"""The ``cnnblocks`` command line: every claim of the lesson, one command away."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cnnblocks.cli._common import die, parse_ints, parse_padding, user_errors

if TYPE_CHECKING:
    from cnnblocks.frameworks import FrameworkAnswer

__all__ = ["app", "main"]

app = typer.Typer(
    name="cnnblocks",
    help="Pooling and activations done exactly, fast and visibly; `cnnblocks demo` writes the "
    "lesson report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
plot_app = typer.Typer(help="Draw the lesson's figures.", no_args_is_help=True)
app.add_typer(plot_app, name="plot")


@app.command()
def shape(
    input_shape: Annotated[
        str,
        typer.Argument(
            help="Input shape: N,C,H,W (or N,C,L / N,C,D,H,W); one or two numbers mean the spatial "
            "size only (N = C = 1)."
        ),
    ],
    kernel: Annotated[str, typer.Option("--kernel", "-k", help="Window size: 2 or 2,3.")] = "2",
    stride: Annotated[
        str | None, typer.Option("--stride", "-s", help="Step: 2 or 2,1 (default: the kernel).")
    ] = None,
    padding: Annotated[
        str,
        typer.Option(
            "--padding",
            "-p",
            help="1 | 1,2 (per axis) | 0,1,0,1 (top, bottom, left, right) | ((0,1),(0,1)) | SAME | "
            "SAME_LOWER | VALID.",
        ),
    ] = "0",
    dilation: Annotated[
        str, typer.Option("--dilation", "-d", help="Gap between taps: 1 or 2,2.")
    ] = "1",
    ceil_mode: Annotated[bool, typer.Option("--ceil-mode", help="Round the division up.")] = False,
    channels_last: Annotated[
        bool, typer.Option("--channels-last", help="The shape is N,H,W,C (NHWC).")
    ] = False,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare", help="Also show PyTorch, ONNX, onnxruntime, TensorFlow/Keras and Paddle."
        ),
    ] = False,
) -> None:
    """Output shape of a pooling layer, the formula filled in (and other frameworks' answers)."""
    from cnnblocks.shapes import explain_output_shape

    with user_errors():
        dims = parse_ints(input_shape, option="INPUT_SHAPE")
        if len(dims) <= 2:
            dims = (1, *dims, 1) if channels_last else (1, 1, *dims)
        if len(dims) > 5:
            die(
                "INPUT_SHAPE must have at most 5 sizes (N, C and up to 3 spatial); "
                f"got {input_shape!r}"
            )
        rank = len(dims) - 2
        k = parse_ints(kernel, option="--kernel")
        s = None if stride is None else parse_ints(stride, option="--stride")
        d = parse_ints(dilation, option="--dilation")
        pad = parse_padding(padding)
        k_arg = k * rank if len(k) == 1 else k
        layout = "NHWC" if channels_last else "NCHW"
        text = explain_output_shape(dims, k_arg, s, pad, d, ceil_mode, data_format=layout)
        typer.echo(text)
        if compare:
            from cnnblocks.frameworks import compare_frameworks

            spatial = dims[1:-1] if channels_last else dims[2:]
            answers = compare_frameworks(spatial, k_arg, s, pad, d, ceil_mode)
            _print_comparison(answers)


def _print_comparison(answers: list[FrameworkAnswer]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="The same settings in other frameworks (max pooling)")
    table.add_column("framework")
    table.add_column("output (spatial)")
    table.add_column("spelled as")
    table.add_column("why it differs / note")
    for answer in answers:
        size = "n/a" if answer.output_size is None else " x ".join(map(str, answer.output_size))
        table.add_row(answer.framework, size, answer.how, answer.note)
    Console(width=140).print(table)


@app.command()
def pool(
    image: Annotated[Path, typer.Argument(help="A PNG, JPEG, ... file (read with Pillow).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the pooled image.")],
    mode: Annotated[str, typer.Option("--mode", "-m", help="max, avg or lp.")] = "max",
    kernel: Annotated[str, typer.Option("--kernel", "-k", help="Window size: 2 or 2,3.")] = "2",
    stride: Annotated[
        str | None, typer.Option("--stride", "-s", help="Step (default: the kernel).")
    ] = None,
    padding: Annotated[
        str, typer.Option("--padding", "-p", help="As for `cnnblocks shape`, e.g. 0,1,0,1 or SAME.")
    ] = "0",
    ceil_mode: Annotated[
        bool, typer.Option("--ceil-mode", help="Round the output size up.")
    ] = False,
    p: Annotated[float, typer.Option("--p", help="Exponent of the Lp pool (mode lp).")] = 2.0,
) -> None:
    """Pool an image file per colour channel (max, average or Lp power mean) and save the result."""
    from cnnblocks.cli.images import pool_image_file

    with user_errors():
        k = parse_ints(kernel, option="--kernel")
        s = None if stride is None else parse_ints(stride, option="--stride")
        k_arg = k * 2 if len(k) == 1 else k
        s_arg = None if s is None else (s * 2 if len(s) == 1 else s)
        before, after = pool_image_file(
            image, out, mode, k_arg, s_arg, parse_padding(padding), ceil_mode, p
        )
        typer.echo(f"{image} {before} -> {out} {after} ({mode} pooling, kernel {k_arg})")


@plot_app.command("activations")
def plot_activations(
    out: Annotated[Path, typer.Option("--out", "-o", help="Figure file: .png, .svg or .pdf.")],
    name: Annotated[
        list[str] | None,
        typer.Option(
            "--name", "-n", help="Activation(s) to draw (repeatable); default sigmoid and relu."
        ),
    ] = None,
    derivatives: Annotated[
        bool, typer.Option("--derivatives/--no-derivatives", help="Add the row of derivatives.")
    ] = True,
) -> None:
    """The lesson's Sigmoid/ReLU figure over x in [-10, 10), with derivatives and the 1/4 bound."""
    from cnnblocks.plotting import activation_figure, save_figure

    with user_errors():
        if out.suffix.lower() not in (".png", ".svg", ".pdf"):
            die(f"The --out option must end in .png, .svg or .pdf. Got {str(out)!r} instead.")
        names = tuple(name) if name else ("sigmoid", "relu")
        fig = activation_figure(names, derivatives=derivatives)
        save_figure(fig, out)
        typer.echo(f"wrote {out}")


def main() -> None:
    """Console-script entry point (``cnnblocks = "cnnblocks.cli:main"``).

    Typer's own usage errors (a missing argument, ``--epochs abc``) are shown, like ours, as one
    ``Error: ...`` line on stderr with exit code 2, instead of a framed panel.
    """
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        sys.exit(1)
    except Exception as exc:
        # click's ClickException, found by its interface: typer vendors click in recent
        # versions (typer._click) and depends on the click package in older ones.
        show, exit_code = getattr(exc, "format_message", None), getattr(exc, "exit_code", None)
        if not callable(show) or not isinstance(exit_code, int):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # `cnnblocks` alone: the help, as usual
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exit_code)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        typer.echo(f"Error: {' '.join(str(show()).split())}{hint}", err=True)
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)
