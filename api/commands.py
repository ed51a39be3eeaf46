"""``huashu serve`` and ``huashu keys``: the service's sub-commands, plugged into the ``huashu``
parser through the ``huashu.commands`` entry point (``analyzer.cli`` never imports ``api``)."""
from __future__ import annotations

import argparse
from collections.abc import Sequence


def add_commands(sub, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    p = sub.add_parser("serve", help="运行 HTTP 服务 / run the HTTP service (settings: HUASHU_* variables)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes (use PostgreSQL for more than one)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("keys", help="管理 API 密钥 / manage API keys")
    keys = p.add_subparsers(dest="action", required=True)
    k = keys.add_parser("create", help="新建密钥并打印 / create a key and print it")
    k.add_argument("--role", required=True, choices=("agent", "supervisor", "analyst", "admin"))
    k.add_argument("--name", required=True)
    k.add_argument("--agent-id", help="坐席密钥关联的坐席 / an agent key's agent: id:<工号> or name:<姓名>")
    keys.add_parser("list", help="列出密钥（不含密钥本身） / list keys, without secrets")
    k = keys.add_parser("revoke", help="吊销密钥 / revoke a key")
    k.add_argument("id", type=int)
    p.set_defaults(func=cmd_keys)


def cmd_serve(args: argparse.Namespace) -> int:
    from .cli import serve

    return serve(args.host, args.port, args.workers)


def cmd_keys(args: argparse.Namespace) -> int:
    from . import cli

    if args.action == "create":
        return cli.keys_create(args.role, args.name, args.agent_id)
    if args.action == "revoke":
        return cli.keys_revoke(args.id)
    return cli.keys_list()
