#!/usr/bin/env python3
"""Fails when a function body in the given C++ files is longer than --max lines.

A function body is a brace block whose enclosing blocks are only namespaces, classes, structs or
enums (not a brace initialiser such as `T table[] = {`); lambdas and control blocks count towards the function that holds them. Comments and
string literals are ignored when matching braces. Usage:
  check_function_length.py [--max N] FILE...
"""
import re
import sys


def long_functions(path, limit):
    lines = open(path, encoding="utf-8").read().split("\n")
    stack, found = [], []
    for n, line in enumerate(lines):
        code = re.sub(r'"([^"\\]|\\.)*"', '""', re.sub(r"//.*", "", line))
        for ch in code:
            if ch == "{":
                if re.search(r"\bnamespace\b[^;{]*\{\s*$", code):
                    kind = "scope"
                elif re.match(r"\s*(class|struct|enum)\b", code):
                    kind = "scope"
                elif re.search(r"=\s*\{\s*$", code):
                    kind = "data"  # a brace initialiser (a table), not a function body
                else:
                    kind = "block"
                stack.append((n, kind))
            elif ch == "}" and stack:
                start, kind = stack.pop()
                if kind == "block" and all(k == "scope" for _, k in stack) and n - start + 1 > limit:
                    found.append((n - start + 1, start + 1, lines[start].strip()))
    return found


def main(argv):
    limit = 60
    if argv[:1] == ["--max"]:
        limit, argv = int(argv[1]), argv[2:]
    bad = [(path, *f) for path in argv for f in long_functions(path, limit)]
    for path, length, line, text in bad:
        print(f"{path}:{line}: a function of {length} lines (at most {limit}): {text}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
