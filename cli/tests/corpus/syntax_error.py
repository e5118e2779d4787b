import argparse


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=10
    return parser.parse_args()


if __name__ == "__main__":
    print(parse_args())
