"""`python -m fourfold`: the same command line as the `fourfold` console script."""

from fourfold.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
