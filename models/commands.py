"""``huashu train`` and ``huashu train-sentiment``: the training sub-commands, plugged into the
``huashu`` parser through the ``huashu.commands`` entry point (training sits on top of the
analyzer; ``analyzer.cli`` never imports it). Importing this module loads no numpy or torch."""
from __future__ import annotations

import argparse
from collections.abc import Sequence


def add_commands(sub, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    from .options import add_arguments
    from .sentiment_train import add_parser as add_train_sentiment

    p = sub.add_parser("train", help="训练分类器 / train the classifier (baseline + transformer), evaluate, "
                                     "write models/trigger/")
    add_arguments(p)
    p.set_defaults(func=cmd_train)
    add_train_sentiment(sub)


def cmd_train(args: argparse.Namespace) -> int:
    from analyzer.model import HuashuError

    if getattr(args, "verdicts", None):  # a bad verdicts file fails now, not after minutes of set-up
        from .verdicts import verdict_examples

        for path in args.verdicts:
            verdict_examples(path)
    try:
        import onnx  # noqa: F401 - the training extra: checked now, not after minutes of work
        import torch  # noqa: F401
        import transformers  # noqa: F401

        from .train import run_from_args
    except ImportError as exc:
        raise HuashuError(f"训练依赖缺失 / training dependencies missing ({exc.name}): "
                          f"pip install -e '.[train]' (make train does it)") from None
    return run_from_args(args)
