import argparse


def str2bool(v):
    if isinstance(v, bool):
        return v
    return v.lower() in ("yes", "true", "t", "1")


parser = argparse.ArgumentParser(description="Segmentation trainer")

optim = parser.add_argument_group("optimization")
optim.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default="adamw", help="optimizer")
optim.add_argument("--scheduler", choices=("cosine", "step"), default="onecycle")
optim.add_argument("--lr", type=float, choices=[0.1, 0.01, 1], default=0.01)
optim.add_argument("--precision", type=int, choices={16, 32}, default=32)
optim.add_argument("--betas", type=float, nargs=2, default=(0.9, 0.999))
optim.add_argument("--milestones", type=int, nargs="+", default=[30, 60])
optim.add_argument("--extra", nargs=argparse.REMAINDER)
optim.add_argument("--warmup", type=int, nargs="?", const=5, default=0)
optim.add_argument("--crop", type=int, nargs=1, default=[512])

flags = parser.add_argument_group("flags")
flags.add_argument("--amp", action="store_true", help="mixed precision")
flags.add_argument("--no-augment", dest="augment", action="store_false")
flags.add_argument("-v", "--verbose", action="count", default=0)
flags.add_argument("--tag", action="append")
flags.add_argument("--version", action="version", version="%(prog)s 2.0")
flags.add_argument("--pretrained", type=str2bool, default=True, help="use ImageNet weights")
flags.add_argument("--shuffle", type=bool, default=True)
flags.add_argument("--ema", action=argparse.BooleanOptionalAction, default=False)
flags.add_argument("--always-on", action="store_true", default=True)

mode = parser.add_mutually_exclusive_group(required=False)
mode.add_argument("--train-only", action="store_true")
mode.add_argument("--eval-only", action="store_true")

args = parser.parse_args()
