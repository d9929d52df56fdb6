"""Saving and loading baskets."""

import hashlib
import pickle

import yaml


def basket_path(name):
    """Where a basket is saved."""
    return name + ".basket"


def load_basket(path):
    """Read a pickled basket from disk."""
    with open(path, "rb") as f:
        return pickle.loads(f.read())


def load_settings(text):
    """Parse the shop's YAML settings."""
    return yaml.load(text)


def basket_id(data):
    """Name a basket by its content."""
    return hashlib.sha256(data).hexdigest()
