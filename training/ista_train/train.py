"""The training loop, readable top to bottom (after nanoGPT).

One process, or one process per GPU under torchrun (DistributedDataParallel, NCCL on GPUs,
gloo on CPUs). ``batch_size`` is the global batch, as in the official YAMLs (there it was
split across GPUs by DataParallel): each of the ``world * grad_accum`` slots of a step gets
batch_size / (world * grad_accum) samples, and the slots are the same whatever the split,
so a run on 4 GPUs equals a run on 1 GPU with grad_accum 4 (BatchNorm statistics included).

Per epoch: learning rate (linear warm-up, then step decay: the official
adjust_learning_rate), one pass over the training set, evaluation every eval_interval
epochs, then last.pt / best.pt (the project's checkpoint format) and train_state.pt (what
resuming needs), each written to a temporary file and renamed. The loop comes first, the
pieces it calls after it; metrics, provenance and summaries are in run_log.py.
"""
from __future__ import annotations

import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from ista_ros.core.checkpoint import save_checkpoint
from ista_ros.core.device import resolve_device
from ista_ros.core.files import atomic_write
from ista_ros.core.model import ISTANet
from ista_ros.errors import UserError
from ista_train.calibration import calibrate_checkpoint, describe
from ista_train.data import build_dataset
from ista_train.eval import classification_metrics, predict
from ista_train.init_weights import Init, start_from
from ista_train.losses import make_loss
from ista_train.recipe import Recipe
from ista_train.run_log import RunLog, fold_summary, provenance, write_fold_summary

STATE_FILE = "train_state.pt"


class TrainingError(UserError):
    """Training cannot go on; the message says why and what to do."""


@dataclass
class Options:
    device: str = "auto"  # auto | cpu | cuda
    amp: str | None = None  # None | "bf16"
    compile: bool = False
    resume: bool = False
    num_workers: int | None = None  # None: the recipe's num_worker
    progress: bool = True
    init: Init | None = None  # start from another checkpoint (ista_train.init_weights)


# --- the loop ---------------------------------------------------------------------------------

def train(recipe: Recipe, options: Options = Options()) -> dict:
    """Train one run; returns its summary (best and last test accuracy, paths)."""
    ctx = setup(options.device)
    recipe, parent = start_from(options.init, recipe)  # with --init: the data's classes, the parent's weights
    work_dir = Path(recipe.work_dir)
    if ctx.main:
        work_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(recipe.seed)  # the same initial weights on every process
    train_set = build_dataset(recipe, train=True)
    test_set = build_dataset(recipe, train=False) if recipe.test_labelled else None
    raw_model = (parent.initial_model() if parent else ISTANet(recipe.model_args)).to(ctx.device)
    optimizer = make_optimizer(recipe, raw_model)
    criterion = make_loss(recipe.loss, recipe.loss_args)
    torch.manual_seed(recipe.seed * 1000 + ctx.rank)  # dropout differs between processes

    start_epoch, best = 0, {"top1": -1.0, "epoch": -1}
    state_path = work_dir / STATE_FILE
    if options.resume:
        start_epoch, best = resume(state_path, raw_model, optimizer, recipe, ctx)

    model = torch.compile(raw_model) if options.compile else raw_model
    if ctx.world > 1:
        model = DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)

    sampler = GlobalBatchSampler(len(train_set), recipe.batch_size, ctx.world, ctx.rank, recipe.grad_accum,
                                 recipe.seed)
    num_workers = recipe.num_worker if options.num_workers is None else options.num_workers
    log = RunLog(work_dir, start_epoch) if ctx.main else None
    if ctx.main:
        params = sum(p.numel() for p in raw_model.parameters())
        print(f"{recipe.source}: {len(train_set)} training samples, {params / 1e6:.2f} M parameters, "
              f"{ctx.world} process(es) on {ctx.device.type}, epochs {start_epoch + 1}-{recipe.num_epoch}")
    started, last = time.time(), {}
    for epoch in range(start_epoch, recipe.num_epoch):
        tick = time.time()
        lr = learning_rate(recipe, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        sampler.set_epoch(epoch)
        train_set.set_epoch(epoch)
        loader = DataLoader(train_set, batch_sampler=sampler, num_workers=num_workers,
                            worker_init_fn=partial(seed_worker, recipe.seed, epoch, ctx.rank),
                            pin_memory=ctx.device.type == "cuda")
        row = {"epoch": epoch + 1, "lr": lr}
        row.update(train_one_epoch(model, loader, optimizer, criterion, recipe, ctx, options, epoch))

        if test_set is not None and ((epoch + 1) % recipe.eval_interval == 0 or epoch + 1 == recipe.num_epoch):
            last = evaluate(raw_model, test_set, criterion, recipe, ctx, options, num_workers, epoch)
            row.update({f"test_{k}": v for k, v in last.items() if k != "epoch"})
        row["seconds"] = time.time() - tick
        improved = last.get("epoch") == epoch + 1 and last["top1"] >= best["top1"]  # >=: the official rule
        best = dict(last) if improved else best
        states = rng_states(ctx)  # collective: every process takes part
        if ctx.main:
            log.write(row)  # before the checkpoints: a resumed run rewrites this epoch's row
            meta = recipe.checkpoint_meta(train_set.split.class_names,
                                          {**provenance(recipe, epoch, last), **(parent.provenance if parent else {})},
                                          train_set.split.layout)
            save_checkpoint(work_dir / "last.pt", raw_model, meta)
            if improved:
                save_checkpoint(work_dir / "best.pt", raw_model, meta)
            atomic_save({"epoch": epoch + 1, "model": raw_model.state_dict(), "optimizer": optimizer.state_dict(),
                         "best": best, "rng": states, "model_args": recipe.model_args.to_dict()}, state_path)
    summary = {"work_dir": str(work_dir), "best": best, "last": last, "epochs": recipe.num_epoch,
               "minutes": (time.time() - started) / 60}
    if best["epoch"] > 0:  # best.pt's temperature, fitted on the validation set (ista_train.calibration)
        summary["calibration"] = calibrate_checkpoint(work_dir / "best.pt", test_set, recipe.test_batch_size,
                                                      ctx.device, options.amp, num_workers, options.progress,
                                                      write=ctx.main)
    if ctx.main:
        log.close(summary)
        if "calibration" in summary:
            print(f"  best.pt {describe(summary['calibration'])}")
    return summary


def train_one_epoch(model, loader, optimizer, criterion, recipe: Recipe, ctx: Context, options: Options,
                    epoch: int) -> dict:
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    micro = 0
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{recipe.num_epoch}", leave=False,
               disable=not options.progress or not ctx.main)
    for x, label, _ in bar:
        x, label = x.to(ctx.device, non_blocking=True), label.to(ctx.device, non_blocking=True)
        micro += 1
        stepping = micro % recipe.grad_accum == 0
        sync = model.no_sync() if (ctx.world > 1 and not stepping) else nullcontext()
        with sync:
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=options.amp == "bf16"):
                logits = model(x)
                loss = criterion(logits.float(), label)
            check_finite(loss, ctx, epoch, micro)
            (loss / recipe.grad_accum).backward()
        if stepping:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        loss_sum += loss.item() * len(label)
        correct += (logits.argmax(1) == label).sum().item()
        seen += len(label)
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}")
    return {"train_loss": loss_sum / max(seen, 1), "train_top1": 100.0 * correct / max(seen, 1)}


def check_finite(loss: torch.Tensor, ctx: Context, epoch: int, step: int) -> None:
    """Stop every process at once when any process's loss is NaN or infinite."""
    bad = torch.tensor([0.0 if torch.isfinite(loss).item() else 1.0], device=ctx.device)
    if ctx.world > 1:
        dist.all_reduce(bad)
    if bad.item():
        raise TrainingError(f"the loss became {loss.item()} at epoch {epoch + 1}, step {step}; lower base_lr, "
                            "check the data for NaN/huge coordinates, or resume from the last checkpoint.")


def evaluate(model, test_set, criterion, recipe: Recipe, ctx: Context, options: Options, num_workers: int,
             epoch: int) -> dict:
    logits = predict(model, test_set, recipe.test_batch_size, ctx.device, options.amp, num_workers, options.progress)
    metrics = classification_metrics(logits, test_set.labels)
    loss = criterion(torch.from_numpy(logits), torch.from_numpy(test_set.labels)).item()
    return {"loss": loss, "top1": metrics["top1"], "top5": metrics["top5"], "mean_class": metrics["mean_class"],
            "epoch": epoch + 1}


# --- processes, devices, seeds, schedule ------------------------------------------------------

@dataclass
class Context:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(device: str) -> Context:
    """Under torchrun (WORLD_SIZE > 1) join the process group; one device per process."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    rank, local_rank = int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0))
    dev = resolve_device(device, cuda_index=local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False  # as officially
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Context(rank, world, dev)


def learning_rate(recipe: Recipe, epoch: int) -> float:
    """Linear warm-up over warm_up_epoch epochs, then base_lr * decay ** (steps passed)."""
    if epoch < recipe.warm_up_epoch:
        return recipe.base_lr * (epoch + 1) / recipe.warm_up_epoch
    return recipe.base_lr * recipe.lr_decay_rate ** sum(epoch >= s for s in recipe.step)


def make_optimizer(recipe: Recipe, model: torch.nn.Module) -> torch.optim.Optimizer:
    params, lr, wd = model.parameters(), recipe.base_lr, recipe.weight_decay
    if recipe.optimizer == "SGD":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=recipe.nesterov, weight_decay=wd)
    betas = tuple(recipe.optimizer_betas)
    optimizer = torch.optim.AdamW if recipe.optimizer == "AdamW" else torch.optim.Adam
    return optimizer(params, lr=lr, weight_decay=wd, betas=betas)


class GlobalBatchSampler(Sampler):
    """Batches of one process: each epoch a permutation (seeded by seed + epoch) is cut
    into global batches (last partial one dropped, as officially); slot s = rank *
    grad_accum + micro of a batch G takes G[s::world * grad_accum]."""

    def __init__(self, size: int, batch_size: int, world: int, rank: int, grad_accum: int, seed: int):
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.slots = world * grad_accum
        self.first_slot, self.grad_accum = rank * grad_accum, grad_accum
        self.epoch = 0
        if batch_size % self.slots:
            raise TrainingError(f"batch_size {batch_size} must be a multiple of processes x grad_accum "
                                f"= {self.slots}.")
        if size < batch_size:
            raise TrainingError(f"the training set has {size} samples, fewer than one batch ({batch_size}).")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size // self.batch_size * self.grad_accum

    def __iter__(self):
        order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed + self.epoch)).tolist()
        for start in range(0, self.size - self.batch_size + 1, self.batch_size):
            batch = order[start:start + self.batch_size]
            for slot in range(self.first_slot, self.first_slot + self.grad_accum):
                yield batch[slot::self.slots]


def seed_worker(seed: int, epoch: int, rank: int, worker_id: int) -> None:
    """Data-loader workers start from (seed, epoch, rank, worker) - never the same state twice."""
    state = np.random.SeedSequence([seed, epoch, rank, worker_id]).generate_state(2)
    np.random.seed(int(state[0]))
    torch.manual_seed(int(state[1]))


# --- checkpoints and resuming -----------------------------------------------------------------

def atomic_save(obj, path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def rng_states(ctx: Context) -> list:
    """Every process's torch RNG state (dropout), gathered on all processes."""
    state = {"cpu": torch.get_rng_state()}
    if ctx.device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(ctx.device)
    if ctx.world == 1:
        return [state]
    states = [None] * ctx.world
    dist.all_gather_object(states, state)
    return states


def resume(state_path: Path, model: torch.nn.Module, optimizer, recipe: Recipe, ctx: Context):
    if not state_path.exists():
        raise TrainingError(f"--resume: {state_path} does not exist; train without --resume first.")
    # Loaded on the CPU: torch takes RNG states only as CPU tensors, and load_state_dict
    # copies the weights and optimizer moments onto the parameters' device anyway.
    state = torch.load(state_path, map_location="cpu", weights_only=True)
    if state["model_args"] != recipe.model_args.to_dict():
        raise TrainingError(f"--resume: {state_path} was trained with other model_args than {recipe.source}.")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    rngs = state["rng"]
    if len(rngs) != ctx.world:
        print(f"resuming with {ctx.world} processes instead of {len(rngs)}: dropout masks will differ.")
    restore_rng(rngs[ctx.rank % len(rngs)], ctx)
    if ctx.main:
        print(f"resumed from {state_path} after epoch {state['epoch']}")
    return state["epoch"], state["best"]


def restore_rng(state: dict, ctx: Context) -> None:
    torch.set_rng_state(state["cpu"].cpu())
    if "cuda" in state and ctx.device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"].cpu(), ctx.device)


# --- entry points -----------------------------------------------------------------------------

def train_folds(recipe: Recipe, options: Options = Options()) -> dict:
    """SBU: train every fold in <work_dir>/fold<k> and report the mean best accuracy."""
    results = {}
    for fold in recipe.folds:
        fold_recipe = replace(recipe, work_dir=str(Path(recipe.work_dir) / f"fold{fold}"), folds=None,
                              train_feeder_args={**recipe.train_feeder_args, "fold": fold},
                              test_feeder_args={**recipe.test_feeder_args, "fold": fold})
        started = (Path(fold_recipe.work_dir) / STATE_FILE).exists()
        results[fold] = train(fold_recipe, replace(options, resume=options.resume and started))
    summary = fold_summary(results)
    if not dist.is_initialized() or dist.get_rank() == 0:
        write_fold_summary(summary, Path(recipe.work_dir))
    return summary


def run(recipe: Recipe, options: Options) -> dict:
    try:
        return train_folds(recipe, options) if recipe.folds else train(recipe, options)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
