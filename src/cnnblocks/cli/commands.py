"""``cnnblocks gradflow``, ``train`` and ``demo``: the commands built on the layers and training."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cnnblocks.cli._common import check_option, user_errors
from cnnblocks.cli.app import app

if TYPE_CHECKING:
    from cnnblocks.data import Dataset
    from cnnblocks.gradflow.experiments import InitGradientsResult

__all__ = ["demo", "gradflow", "train"]


@app.command()
def gradflow(
    depth: Annotated[
        int | None, typer.Option("--depth", help="Hidden layers (default: 20, or 10 with --quick).")
    ] = None,
    width: Annotated[
        int | None,
        typer.Option("--width", help="Units per layer (default: 64, or 32 with --quick)."),
    ] = None,
    activation: Annotated[
        list[str] | None,
        typer.Option("--activation", "-a", help="Repeatable; default sigmoid, tanh and relu."),
    ] = None,
    init: Annotated[
        list[str] | None,
        typer.Option("--init", "-i", help="Repeatable; default xavier, he and large_normal."),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Digits in the batch (default 256 / 64).")
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the weights and the data split.")
    ] = 0,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for the figures (created if missing).")
    ] = Path("gradflow-figures"),
    quick: Annotated[bool, typer.Option("--quick", help="The small preset (seconds).")] = False,
) -> None:
    """Per-layer gradient norms of deep MLPs at initialisation: sigmoid vs tanh vs ReLU."""
    from cnnblocks.gradflow.experiments import init_gradients

    with user_errors():
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(out))
        activations = tuple(activation) if activation else ("sigmoid", "tanh", "relu")
        inits = tuple(init) if init else ("xavier", "he", "large_normal")
        result = init_gradients(
            depth, width, activations, inits, batch_size, seed, size="quick" if quick else "full"
        )
        _print_gradflow(result)
        out.mkdir(parents=True, exist_ok=True)
        for path in _gradflow_figures(result, activations, inits, out):
            typer.echo(f"wrote {path}")


def _print_gradflow(result: InitGradientsResult) -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"Gradient norms at initialisation: {result.depth} hidden layers of width "
        f"{result.width}, batch of {result.batch_size} digits"
    )
    for column in (
        "activation",
        "init",
        "||dL/dW_1||",
        "||dL/dW_last||",
        "first / last",
        "mean f'(x)",
        "saturated",
    ):
        table.add_column(column, justify="left" if column in ("activation", "init") else "right")
    for run in result.runs:
        w = run.weight_grad_norms
        table.add_row(
            run.activation,
            run.init,
            f"{w[0]:.3e}",
            f"{w[-1]:.3e}",
            f"{w[0] / w[-1]:.3e}",
            f"{float(np.mean(run.mean_derivative)):.4f}",
            f"{100 * float(np.mean(run.saturated_fraction)):.1f}%",
        )
    console = Console(width=120)
    console.print(table)
    att = result.sigmoid_attenuation
    if att is not None:
        console.print(
            f"sigmoid ({att.init}): largest ||dL/dx|| / ||dL/dy|| across a sigmoid = "
            f"{float(att.activation_ratio.max()):.4f} (bound 1/4 = 0.25); typical layer-to-layer "
            f"factor of the weight gradient = {att.geometric_mean_layer_ratio:.4f}"
        )


def _gradflow_figures(
    result: InitGradientsResult, activations: tuple[str, ...], inits: tuple[str, ...], out: Path
) -> list[Path]:
    from cnnblocks.plotting import save_figure
    from cnnblocks.plotting.charts import curves_figure

    layers = list(range(1, result.depth + 2))
    paths = [
        save_figure(
            curves_figure(
                [
                    (f"init: {i}", {a: result.run(a, i).weight_grad_norms for a in activations})
                    for i in inits
                ],
                xlabel="layer (1 = first)",
                ylabel="||dL/dW||",
                log=True,
                x_values=layers,
            ),
            out / "layer-norms.png",
        )
    ]
    att = result.sigmoid_attenuation
    if att is not None:
        paths.append(
            save_figure(
                curves_figure(
                    [
                        (
                            "across each sigmoid: ||dL/dx|| / ||dL/dy||",
                            {
                                "measured": att.activation_ratio,
                                "mean sigma'(x)": att.mean_derivative,
                            },
                        )
                    ],
                    xlabel="sigmoid layer",
                    ylabel="ratio",
                    hlines={"bound 1/4": att.bound},
                    x_values=list(range(1, len(att.activation_ratio) + 1)),
                ),
                out / "sigmoid-attenuation.png",
            )
        )
    return paths


def _load_data(
    train_images: Path | None,
    train_labels: Path | None,
    test_images: Path | None,
    test_labels: Path | None,
    seed: int,
) -> tuple[Dataset, Dataset, str]:
    from cnnblocks.data import load_digits, load_idx
    from cnnblocks.errors import ParameterError

    paths = (train_images, train_labels, test_images, test_labels)
    if all(p is None for p in paths):
        split = load_digits(seed=seed)
        return split.train, split.test, "the 8x8 digits (scikit-learn)"
    if train_images is None or train_labels is None or test_images is None or test_labels is None:
        raise ParameterError(
            "The IDX options go together: give --train-images, --train-labels, --test-images and "
            "--test-labels, or none of them (then the digits are used)."
        )
    train = load_idx(train_images, train_labels)
    test = load_idx(test_images, test_labels)
    return train, test, f"IDX files {train_images.name} / {test_images.name}"


@app.command()
def train(
    model: Annotated[str, typer.Option("--model", "-m", help="lenet or mlp.")] = "lenet",
    activation: Annotated[
        str, typer.Option("--activation", "-a", help="e.g. relu, sigmoid.")
    ] = "relu",
    pool: Annotated[str, typer.Option("--pool", help="LeNet's pooling: max or avg.")] = "max",
    depth: Annotated[int, typer.Option("--depth", help="MLP hidden layers.")] = 3,
    width: Annotated[int, typer.Option("--width", help="MLP units per layer.")] = 64,
    epochs: Annotated[
        int, typer.Option("--epochs", "-e", help="Passes over the training set.")
    ] = 10,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Mini-batch size.")] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 3e-3,
    optimizer: Annotated[
        str, typer.Option("--optimizer", help="adam or sgd (momentum 0.9).")
    ] = "adam",
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the weights, split and shuffling.")
    ] = 0,
    train_images: Annotated[Path | None, typer.Option(help="IDX images for training.")] = None,
    train_labels: Annotated[Path | None, typer.Option(help="IDX labels for training.")] = None,
    test_images: Annotated[Path | None, typer.Option(help="IDX images for testing.")] = None,
    test_labels: Annotated[Path | None, typer.Option(help="IDX labels for testing.")] = None,
    save: Annotated[
        Path | None, typer.Option("--save", help="Write the trained parameters here (.npz).")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar.")
    ] = True,
) -> None:
    """Train LeNet or an MLP on the digits (or IDX files) and report the test accuracy."""
    import numpy as np

    from cnnblocks.errors import ParameterError
    from cnnblocks.models import lenet, mlp
    from cnnblocks.optim import SGD, Adam
    from cnnblocks.serialization import save_parameters
    from cnnblocks.training import evaluate, fit

    with user_errors():
        check_option(model, ("lenet", "mlp"), "--model")
        check_option(optimizer, ("adam", "sgd"), "--optimizer")
        if save is not None:
            if save.suffix.lower() != ".npz":
                raise ParameterError(f"The --save option must name a .npz file. Got {str(save)!r}.")
            if not (save.parent if str(save.parent) else Path(".")).is_dir():
                raise FileNotFoundError(2, "No such directory", str(save.parent))
        train_set, test_set, source = _load_data(
            train_images, train_labels, test_images, test_labels, seed
        )
        rng = np.random.default_rng(seed)
        shape = train_set.x.shape
        classes = int(max(train_set.num_classes, test_set.num_classes))
        net: Any
        if model == "lenet":
            if len(shape) != 4 or shape[2] != shape[3]:
                raise ParameterError(f"LeNet needs square (N, C, H, H) images. Got {shape}.")
            net = lenet(
                activation,
                pool,
                in_channels=shape[1],
                input_size=shape[2],
                num_classes=classes,
                rng=rng,
            )
        else:
            net = mlp(
                depth,
                width,
                activation,
                in_features=int(np.prod(shape[1:])),
                num_classes=classes,
                rng=rng,
            )
        opt = (
            Adam(net.parameters(), lr=lr)
            if optimizer == "adam"
            else SGD(net.parameters(), lr=lr, momentum=0.9)
        )
        typer.echo(
            f"training {model} ({activation}) on {source}: {len(train_set)} train, "
            f"{len(test_set)} test, {epochs} epochs"
        )
        history = fit(net, train_set, epochs, opt, batch_size, seed, progress=progress)
        result = evaluate(net, test_set)
        typer.echo(
            f"test accuracy: {100 * result.accuracy:.2f}% (loss {result.loss:.4f}) after "
            f"{history.epochs} epochs in {history.seconds:.1f} s"
        )
        if save is not None:
            save_parameters(net, save)
            typer.echo(f"saved parameters to {save}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Report directory.")] = Path(
        "cnnblocks-report"
    ),
    quick: Annotated[
        bool, typer.Option("--quick", help="Smaller experiments: under a minute on 2 cores.")
    ] = False,
    lang: Annotated[str, typer.Option("--lang", help="Language of the text: en or zh.")] = "en",
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random draw.")] = 0,
    size: Annotated[str | None, typer.Option("--size", hidden=True)] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar.")
    ] = True,
) -> None:
    """Run every claim of the lesson and write an HTML report (DIR/index.html plus figures)."""
    from cnnblocks.report.build import build_report

    with user_errors():
        check_option(lang, ("en", "zh"), "--lang")
        run_size = size or ("quick" if quick else "full")
        check_option(run_size, ("tiny", "quick", "full"), "--size")
        index = build_report(out, lang=lang, size=run_size, seed=seed, progress=progress)
        typer.echo(f"Report written to {index}")
        typer.echo(f"Open it in a browser: {index.as_uri()}")
