"""Hyperparameters declared once, as module constants, then used as argparse defaults."""
import argparse
import os

LR = 3e-4
BATCH_SIZE: int = 32
EPOCHS = 10
WARMUP_EPOCHS = EPOCHS // 10
WEIGHT_DECAY = LR / 10
MODELS = ("resnet18", "resnet50", "vit_b_16")
DEFAULT_MODEL = MODELS[0]
BACKBONE = "resnet" "50"
DATA_DIR = os.environ.get("DATA_DIR", "/data")
DROPOUT = 0.1
DROPOUT = 0.2  # rebound: which value a call sees depends on the order of execution
SEED = -1
LR_HELP = (
    "peak learning rate "
    "after warmup (default: %(default)s)"
)
SCALE = 2 ** 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=LR, help=LR_HELP)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--epochs", default=EPOCHS)
    parser.add_argument("--warmup-epochs", type=int, default=WARMUP_EPOCHS)
    parser.add_argument("--weight-decay", type=float, default=WEIGHT_DECAY)
    parser.add_argument("--model", choices=MODELS, default="resnet50")
    parser.add_argument("--default-model", default=DEFAULT_MODEL)
    parser.add_argument("--backbone", default=BACKBONE)
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--dropout", type=float, default=DROPOUT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--scale", type=float, default=SCALE)
    return parser


if __name__ == "__main__":
    args = build_parser().parse_args()
    print(vars(args))
