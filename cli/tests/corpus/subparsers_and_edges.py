# -*- coding: utf-8 -*-
import argparse
import os

OPTIONS = {"help": "hidden"}
FLAG = "--flag-from-constant"


def add_common(p):
    p.add_argument("--seed", type=int, default=42, help="random seed")
    p.add_argument("--workers", type=int, default=os.cpu_count())


def main():
    parser = argparse.ArgumentParser(prog="trainer")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model")
    add_common(train)
    train.add_argument("--epochs", type=int, default=10, required=True)
    train.add_argument("--seed", type=int, default=0)

    evaluate = sub.add_parser("eval")
    evaluate.add_argument("checkpoint")
    evaluate.add_argument("--split", default="val", choices=["val", "test"])

    parser.add_argument("--optim.lr", type=float, default=0.1)
    parser.add_argument("--1cycle", action="store_true")
    parser.add_argument(f"--{'dyn'}amic")
    parser.add_argument("--kw", **OPTIONS)
    parser.add_argument(FLAG, type=int, default=1)
    parser.add_argument("--mode", type=int, default="fast")
    parser.add_argument("--ratio", type=float, default="0.5")
    parser.add_argument("--note", help="émoji 🚀 ok " + "concatenated")
    parser.add_argument("--size", type=int, default=1.5)
    parser.add_argument("--env", default=os.environ.get("ENV", "dev"))
    parser.add_argument("--path", type=os.path.expanduser, default="~/data")
    return parser.parse_args()


if __name__ == "__main__":
    main()
