"""A trainer configured through environment variables only."""
import json
import os

import torch

EPOCHS = int(os.environ.get("EPOCHS", "10"))
LR = float(os.environ.get("LR", "0.001"))


class Trainer:
    def __init__(self, epochs: int, lr: float) -> None:
        self.epochs = epochs
        self.lr = lr

    def add_argument_summary(self) -> dict:
        # Not argparse: a method call whose name only starts like it.
        return {"epochs": self.epochs, "lr": self.lr}


def main() -> None:
    trainer = Trainer(EPOCHS, LR)
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=trainer.lr)
    for _ in range(trainer.epochs):
        optimizer.zero_grad()
    print(json.dumps(trainer.add_argument_summary()))


if __name__ == "__main__":
    main()
