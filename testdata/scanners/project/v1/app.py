"""Command-line entry point of the tiny shop."""

import subprocess
import sys

from shop import handlers, storage

DB_PASSWORD = "hunter2"


def run_report(name):
    """Run the nightly report script for one shop."""
    return subprocess.call("report.sh " + name, shell=True)


def main(argv):
    """Load a saved basket, print its total, run the report."""
    basket = storage.load_basket(argv[1])
    print(handlers.total(basket))
    run_report(argv[2])


if __name__ == "__main__":
    main(sys.argv)
