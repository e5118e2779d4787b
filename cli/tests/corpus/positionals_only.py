import argparse
import sys

parser = argparse.ArgumentParser(description="Fine-tune on a folder of images")
parser.add_argument("data_dir", help="folder of class sub-folders")
parser.add_argument("epochs", type=int, help="number of epochs")
parser.add_argument("output", nargs="?", default="out")
parser.add_argument("-q", action="store_true", help="quiet")

if __name__ == "__main__":
    args = parser.parse_args(sys.argv[1:])
    print(args.data_dir, args.epochs, args.output, args.q)
