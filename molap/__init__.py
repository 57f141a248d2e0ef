__version__ = "0.1.0"


def __getattr__(name):
    # `molap.load_pretrained` without importing torch and the whole package on `import molap`
    if name == "load_pretrained":
        from .multitask import load_pretrained
        return load_pretrained
    raise AttributeError(f"module 'molap' has no attribute {name!r}")
