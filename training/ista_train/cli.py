"""`ista-train`: prepare, train, eval, submit, viz, export.

Heavy imports (torch) happen inside the commands, so `ista-train --help` is instant.
Errors a user can fix print one sentence and exit 2, without a traceback (ista_ros.errors).
"""
from __future__ import annotations

import argparse
import sys

from ista_ros.errors import run_reporting_user_errors
from ista_train.prepare import add_prepare_parser


def add_runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="auto: CUDA when available (under torchrun: the process's local GPU)")
    parser.add_argument("--amp", choices=["bf16"], default=None, help="bf16 autocast")
    parser.add_argument("--workers", type=int, default=None, help="data-loader workers (default: the recipe's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's; 1 is fastest on a busy machine)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bars")


def add_train(subparsers) -> None:
    command = subparsers.add_parser("train", help="train a recipe (torchrun for several GPUs or machines)",
                                    description="Train ISTA-Net with a recipe: config/train/*.yaml or an official "
                                                "ISTA-Net YAML. Extra key=value arguments override the recipe "
                                                "(dotted keys reach into mappings: train_feeder_args.fold=2).")
    command.add_argument("--config", required=True, help="recipe YAML")
    command.add_argument("overrides", nargs="*", metavar="key=value")
    command.add_argument("--resume", action="store_true", help="continue from <work_dir>/train_state.pt")
    command.add_argument("--compile", action="store_true", help="torch.compile the model")
    command.add_argument("--init", metavar="CHECKPOINT", help="fine-tune: start from this checkpoint's matching "
                                                              "weights; the classes are the data's")
    command.add_argument("--init-config", metavar="YAML", help="model configuration of an official --init state dict")
    command.add_argument("--freeze-backbone", action="store_true", help="with --init: train the classifier head only")
    add_runtime_options(command)
    command.set_defaults(func=run_train)


def run_train(args) -> None:
    from ista_ros.errors import ConfigError
    from ista_train.init_weights import Init
    from ista_train.recipe import load_recipe, parse_overrides
    from ista_train.train import Options, run

    if (args.init_config or args.freeze_backbone) and not args.init:
        raise ConfigError("--init-config and --freeze-backbone go with --init CHECKPOINT.")
    recipe = load_recipe(args.config, parse_overrides(args.overrides))
    init = Init(args.init, args.init_config, args.freeze_backbone) if args.init else None
    run(recipe, Options(args.device, args.amp, args.compile, args.resume, args.workers, not args.no_progress, init))


def add_eval(subparsers) -> None:
    command = subparsers.add_parser("eval", help="evaluate a checkpoint on a recipe's test set",
                                    description="Top-1, top-5, mean per-class accuracy and a confusion matrix of a "
                                                "checkpoint (ours or an official state dict) on the test set of a "
                                                "recipe (ours or an official YAML).")
    add_test_set_options(command, "recipe YAML (ours or official)",
                         "checkpoint: the project's format or an official .pt")
    command.add_argument("--save-scores", default=None, help="write the (N, classes) float32 logits to this .npy")
    command.add_argument("--out", default=None, help="folder for the confusion matrix and metrics (default: "
                                                     "next to the weights)")
    command.set_defaults(func=run_eval)


def add_test_set_options(command, config_help: str, weights_help: str) -> None:
    """A checkpoint run over a recipe's test set (eval, calibrate)."""
    command.add_argument("--config", required=True, help=config_help)
    command.add_argument("--weights", required=True, help=weights_help)
    command.add_argument("--data", default=None, help="replaces the test data path of the recipe")
    command.add_argument("--batch-size", type=int, default=None, help="default: the recipe's test_batch_size")
    command.add_argument("overrides", nargs="*", metavar="key=value")
    add_runtime_options(command)


def add_calibrate(subparsers) -> None:
    command = subparsers.add_parser("calibrate", help="fit a checkpoint's temperature on the validation set",
                                    description="Fit the temperature T of a checkpoint of the project's format "
                                                "(probabilities softmax(logits / T)) on the test/validation set of "
                                                "a recipe and store it in the checkpoint, rewritten in place.")
    add_test_set_options(command, "recipe YAML whose test set is the validation set",
                         "checkpoint of the project's format (rewritten)")
    command.set_defaults(func=run_calibrate)


def run_calibrate(args) -> None:
    from ista_train.calibration import run_calibrate as calibrate

    calibrate(args)


def run_eval(args) -> None:
    from ista_train.eval import evaluate_checkpoint
    from ista_train.recipe import load_recipe, parse_overrides

    recipe = load_recipe(args.config, parse_overrides(args.overrides))
    evaluate_checkpoint(recipe, args.weights, data=args.data, save_scores=args.save_scores, out=args.out,
                        batch_size=args.batch_size, device=args.device, amp=args.amp,
                        workers=args.workers or 0, progress=not args.no_progress)


def add_submit(subparsers) -> None:
    command = subparsers.add_parser("submit", help="CodaLab submission files (H2O, Assembly101)",
                                    description="Write the test-set submission files in the official formats.")
    targets = command.add_subparsers(dest="target", metavar="TARGET", required=True)
    for name, doc in (("h2o", "H2O action_labels.json"), ("asb", "Assembly101 preds.json of one of "
                                                                  "action / verb / noun")):
        target = targets.add_parser(name, help=doc, description=doc)
        target.add_argument("--config", required=True, help="recipe YAML (ours or the official *_get_test_results)")
        target.add_argument("--weights", required=True)
        target.add_argument("--data", default=None, help="replaces the test data path of the recipe")
        target.add_argument("--out", required=True, help="output JSON file")
        target.add_argument("--batch-size", type=int, default=None)
        target.add_argument("overrides", nargs="*", metavar="key=value")
        if name == "asb":
            target.add_argument("--kind", choices=["action", "verb", "noun"], default=None,
                                help="default: from the number of classes (1380, 24, 90)")
        add_runtime_options(target)
        target.set_defaults(func=run_submit)
    fuse = targets.add_parser("asb-fuse", help="fuse Assembly101 action, verb and noun preds.json",
                              description="One preds.json with action, verb and object scores per sample.")
    for kind in ("action", "verb", "noun"):
        fuse.add_argument(f"--{kind}", required=True, help=f"preds.json of the {kind} model")
    fuse.add_argument("--out", required=True)
    fuse.set_defaults(func=run_submit)


def run_submit(args) -> None:
    from ista_train import submit

    submit.run(args)


def add_viz(subparsers) -> None:
    command = subparsers.add_parser("viz", help="PNG/GIF of dataset samples",
                                    description="Draw samples of a recipe's dataset (skeletons with their bones).")
    command.add_argument("--config", required=True, help="recipe YAML (ours or official)")
    command.add_argument("--data", default=None, help="replaces the data path of the recipe")
    command.add_argument("--split", choices=["train", "test"], default="test")
    command.add_argument("--index", type=int, nargs="+", default=[0], help="sample indices")
    command.add_argument("--out", required=True, help="output folder")
    command.add_argument("--gif", action="store_true", help="an animated GIF per sample (default: a PNG strip)")
    command.add_argument("overrides", nargs="*", metavar="key=value")
    command.set_defaults(func=run_viz)


def run_viz(args) -> None:
    from ista_train import viz

    viz.run(args)


def add_export(subparsers) -> None:
    command = subparsers.add_parser("export", help="checkpoint for deployment (+ ONNX, TorchScript)",
                                    description="Write a checkpoint in the project's format (what the node loads), "
                                                "from ours or an official state dict, and optionally TorchScript.")
    command.add_argument("--weights", required=True)
    command.add_argument("--config", default=None, help="recipe or model YAML (needed for official state dicts)")
    command.add_argument("--out", default=None, help="output checkpoint (.pt)")
    command.add_argument("--onnx", default=None, help="also (or only) write an ONNX model here, metadata inside")
    command.add_argument("--torchscript", default=None, help="also write a TorchScript module here")
    command.set_defaults(func=run_export)


def run_export(args) -> None:
    from ista_train import export

    export.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ista-train", description="Train and evaluate ISTA-Net: datasets, "
                                                                    "training, evaluation, submissions.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_prepare_parser(subparsers)
    for add in (add_train, add_eval, add_calibrate, add_submit, add_viz, add_export):
        add(subparsers)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    return run_reporting_user_errors(f"ista-train {args.command}", lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
