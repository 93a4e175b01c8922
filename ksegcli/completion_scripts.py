"""The shell scripts themselves: bash, zsh and fish code rendered from the command tree
(:func:`ksegcli.completion.tree`), each a data table and the functions that read it.

What every command shares (--help, -h, the global options) and each option's default
value source and description are written once (:class:`ksegcli.completion.Defaults`);
a command's own entry only where it differs.
"""

from __future__ import annotations

import re

from ksegcli.completion import MARKER, Defaults, Node

# --- shell code shared by the renderers ----------------------------------------------------


def _sq(text: str) -> str:
    """A single-quoted word for bash, zsh and fish alike ('it'\\''s' is not fish)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _bq(text: str) -> str:
    """A single-quoted word for bash and zsh."""
    return "'" + text.replace("'", "'\\''") + "'"


_SAFE_KEY = re.compile(r"\A[A-Za-z0-9_./-]+\Z")


def _key(*parts: str) -> str:
    """An array key that needs no quoting in bash or zsh (zsh would keep the quotes in
    the key): the words of a path joined by '/'."""
    key = "/".join(["ksegcli", *" ".join(parts).split()])
    if not _SAFE_KEY.match(key):  # pragma: no cover - command and option names are plain
        raise ValueError(f"not a plain key: {key!r}")
    return key


def _option_key(option: str) -> str:
    """The key of an option's default (vsrc, descs): its name, which no path key is."""
    if not _SAFE_KEY.match(option):  # pragma: no cover - option names are plain
        raise ValueError(f"not a plain key: {option!r}")
    return option


def _tables(nodes: list[Node], *, descriptions: bool) -> list[str]:
    """Associative-array assignments, valid in bash and zsh alike (see Defaults):
    ``all_opts`` and ``all_vals``, what every command takes; ``vsrc[--opt]`` and
    ``descs[--opt]``, an option's defaults; then each command's own entries."""
    defaults = Defaults.of(nodes)
    everywhere = _bq(" ".join(defaults.options))
    lines = [f"    all_opts={everywhere} all_vals={_bq(_spaced(defaults.takes_value))}"]
    lines += [f"    vsrc[{_option_key(o)}]={_bq(k)}" for o, k in defaults.sources.items()]
    if descriptions:
        lines += [f"    descs[{_option_key(o)}]={_bq(h)}" for o, h in defaults.helps.items()]
    for node in nodes:
        key = _key(node.path)
        options, takes_value = defaults.own(node)
        if node.subcommands:
            lines.append(f"    subs[{key}]={_bq(' '.join(node.subcommands))}")
            if descriptions:
                for name, text in node.subcommands.items():
                    lines.append(f"    descs[{_key(node.path, name)}]={_bq(text)}")
        if options:
            lines.append(f"    opts[{key}]={_bq(' '.join(options))}")
        for name in options if descriptions else ():
            if node.option_help[name] != defaults.helps[name]:
                lines.append(f"    descs[{_key(node.path, name)}]={_bq(node.option_help[name])}")
        if takes_value:
            lines.append(f"    vals[{key}]={_bq(_spaced(takes_value))}")
        for opt in takes_value:
            source = defaults.source(node, opt)
            if source is not None:
                lines.append(f"    vsrc[{_key(node.path, opt)}]={_bq(source)}")
        if node.argument is not None:
            lines.append(f"    args[{key}]={_bq(node.argument.key())}")
    return lines


def _spaced(words: list[str]) -> str:
    """The words with a space on each side of each: `` a b `` matches ``*" a "*``."""
    return " " + " ".join(words) + " "


_PROFILE_RE = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"  # core.config._PROFILE_RE
_SITECODE_RE = "^[A-Za-z0-9]{10}$"  # core.config._SITECODE_RE

# The config and cache folders as core.config.config_dir and core.paths.cache_dir find
# them (platformdirs: an XDG variable counts only if it is an absolute path).
_BASH_DIRS = r"""
__ksegcli_dir() {
    # $1: config|cache. Sets REPLY (no subshell: this runs on every TAB).
    local override xdg sub mac
    if [[ $1 == config ]]; then
        override=$KSEG_CONFIG_DIR xdg=$XDG_CONFIG_HOME sub=.config mac="Library/Application Support"
    else
        override=$KSEG_CACHE_DIR xdg=$XDG_CACHE_HOME sub=.cache mac=Library/Caches
    fi
    if [[ -n $override ]]; then
        REPLY=$override
        [[ $REPLY == "~"* ]] && REPLY=$HOME${REPLY:1}
    elif [[ $OSTYPE == darwin* ]]; then
        REPLY="$HOME/$mac/ksegcli"
    elif [[ $xdg == /* ]]; then
        REPLY="$xdg/ksegcli"
    else
        REPLY="$HOME/$sub/ksegcli"
    fi
}

__ksegcli_profiles() {
    # Profile names: default, and every <name>.toml of the config folder. Sets reply.
    local file name REPLY
    reply=(default)
    __ksegcli_dir config
    for file in "$REPLY"/*.toml; do
        [[ -f $file ]] || continue
        name=${file##*/}
        name=${name%.toml}
        [[ $name =~ PROFILE_RE && $name != default ]] && reply+=("$name")
    done
}

__ksegcli_sitecodes() {
    # $1: profile. The sitecodes (and names) of its last project listing. Sets reply, descr.
    local code id name REPLY
    reply=() descr=()
    [[ $1 =~ PROFILE_RE ]] || return 0
    __ksegcli_dir cache
    [[ -r "$REPLY/projects/$1.tsv" ]] || return 0
    while IFS=$'\t' read -r code id name; do
        [[ $code =~ SITECODE_RE ]] || continue
        reply+=("$code") descr+=("$name")
    done < "$REPLY/projects/$1.tsv"
}
""".replace("PROFILE_RE", _PROFILE_RE).replace("SITECODE_RE", _SITECODE_RE)


def _walker(*, words: str, first: str, last: str, kpath: str) -> str:
    """The loop that finds the command path and the profile among the typed words:
    an option's value is skipped, a word that names a subcommand descends."""
    return f"""
    {kpath}=ksegcli profile=${{KSEG_PROFILE:-default}}
    local i={first} word
    while (( i < {last} )); do
        word=${{{words}[i]}}
        if [[ $word == --profile=* ]]; then
            profile=${{word#--profile=}}
        elif [[ $word == -* ]]; then
            if [[ ${{vals[${kpath}]}}$all_vals == *" $word "* ]]; then
                (( i++ ))
                [[ ${{{words}[i]}} == = ]] && (( i++ ))
                [[ $word == --profile ]] && profile=${{{words}[i]}}
            fi
        elif [[ " ${{subs[${kpath}]}} " == *" $word "* ]]; then
            {kpath}="${kpath}/$word"
        fi
        (( i++ ))
    done"""


# --- bash -----------------------------------------------------------------------------------


def bash(nodes: list[Node]) -> str:
    lines = [
        f"{MARKER} (`ksegcli completion bash`). Do not edit.",
        "# bash >= 4. Offline: reads only the config folder (profiles) and the cache folder",
        "# (the sitecodes of the last project listing).",
        _BASH_DIRS.strip("\n"),
        "",
        "__ksegcli_add() {",
        '    # Add the words of "$@" that start with $cur (no expansion of the words).',
        "    local w",
        '    for w in "$@"; do [[ $w == "$cur"* ]] && COMPREPLY+=("$w"); done',
        "}",
        "",
        "_ksegcli() {",
        "    local cur prev kpath profile src reply descr all_opts all_vals",
        "    COMPREPLY=()",
        "    cur=${COMP_WORDS[COMP_CWORD]}",
        "    prev=${COMP_WORDS[COMP_CWORD-1]}",
        "    # --opt=value: bash splits at '=' (COMP_WORDBREAKS).",
        '    if [[ $cur == "=" ]]; then cur=""; elif [[ $prev == "=" ]]; then',
        "        prev=${COMP_WORDS[COMP_CWORD-2]}",
        "    fi",
        "    local -A subs opts vals vsrc args",
        *_tables(nodes, descriptions=False),
        _walker(words="COMP_WORDS", first="1", last="COMP_CWORD", kpath="kpath").strip("\n"),
        '    if [[ $prev == -* && ${vals[$kpath]}$all_vals == *" $prev "* ]]; then',
        "        src=${vsrc[$kpath/$prev]-${vsrc[$prev]}}",
        "    elif [[ $cur == -* ]]; then",
        "        __ksegcli_add ${opts[$kpath]} $all_opts",
        "        return 0",
        "    elif [[ -n ${subs[$kpath]} ]]; then",
        "        __ksegcli_add ${subs[$kpath]}",
        "        return 0",
        "    else",
        "        src=${args[$kpath]}",
        "    fi",
        "    case $src in",
        "        static:*) __ksegcli_add ${src#static:} ;;",
        '        profiles) __ksegcli_profiles; __ksegcli_add "${reply[@]}" ;;',
        '        sitecodes) __ksegcli_sitecodes "$profile"; __ksegcli_add "${reply[@]}" ;;',
        "        files)",
        "            compopt -o filenames 2>/dev/null",
        "            local line  # one name a line, neither split at spaces nor globbed",
        '            while IFS= read -r line; do COMPREPLY+=("$line"); done < <(compgen -f -- "$cur")',
        "            ;;",
        "    esac",
        "    return 0",
        "}",
        "complete -F _ksegcli ksegcli",
    ]
    return "\n".join(lines) + "\n"


# --- zsh ------------------------------------------------------------------------------------


def zsh(nodes: list[Node]) -> str:
    dirs = _BASH_DIRS.replace(
        "local file name REPLY", "local file name REPLY; setopt localoptions nullglob"
    )
    dirs = dirs.replace("local code id name REPLY", "local code id name REPLY")
    lines = [
        "#compdef ksegcli",
        f"{MARKER} (`ksegcli completion zsh`). Do not edit.",
        "# Offline: reads only the config folder (profiles) and the cache folder (the",
        "# sitecodes of the last project listing).",
        dirs.strip("\n"),
        "",
        "_ksegcli() {",
        "    setopt localoptions noksharrays",
        "    local cur prev kpath profile src name all_opts all_vals",
        "    local -a reply descr items",
        "    local -A subs opts vals vsrc args descs",
        *_tables(nodes, descriptions=True),
        "    cur=${words[CURRENT]}",
        "    prev=${words[CURRENT-1]}",
        _walker(words="words", first="2", last="CURRENT", kpath="kpath").strip("\n"),
        "    if [[ $cur == --*=* ]]; then  # --opt=value",
        "        prev=${cur%%=*}",
        "        compset -P '*='",
        "        cur=${cur#*=}",
        "    fi",
        '    if [[ $prev == -* && ${vals[$kpath]}$all_vals == *" $prev "* ]]; then',
        "        src=${vsrc[$kpath/$prev]-${vsrc[$prev]}}",
        "    elif [[ $cur == -* ]]; then",
        "        for name in ${(s: :)opts[$kpath]} ${(s: :)all_opts}; do",
        '            items+=("${name//:/\\\\:}:${descs[$kpath/$name]-${descs[$name]}}")',
        "        done",
        "        _describe -t options option items",
        "        return",
        "    elif [[ -n ${subs[$kpath]} ]]; then",
        "        for name in ${(s: :)subs[$kpath]}; do",
        '            items+=("${name//:/\\\\:}:${descs[$kpath/$name]}")',
        "        done",
        "        _describe -t commands command items",
        "        return",
        "    else",
        "        src=${args[$kpath]}",
        "    fi",
        "    case $src in",
        "        static:*) compadd -- ${(s: :)src#static:} ;;",
        "        profiles) __ksegcli_profiles; compadd -- $reply ;;",
        "        sitecodes)",
        '            __ksegcli_sitecodes "$profile"',
        "            for (( i = 1; i <= $#reply; i++ )); do",
        '                items+=("$reply[i]:$descr[i]")',
        "            done",
        "            _describe -t sitecodes sitecode items ;;",
        "        files) _files ;;",
        "        *) return 1 ;;",
        "    esac",
        "}",
        "",
        "if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then",
        '    _ksegcli "$@"  # autoloaded from $fpath by compinit: this is the first TAB',
        "else",
        "    compdef _ksegcli ksegcli  # sourced",
        "fi",
    ]
    return "\n".join(lines) + "\n"


# --- fish -----------------------------------------------------------------------------------


def _fish_cases(entries: dict[str, list[str]], indent: str = "        ") -> list[str]:
    """``case`` arms of a fish ``switch``, one per distinct output."""
    by_body: dict[tuple[str, ...], list[str]] = {}
    for key, arm in entries.items():
        by_body.setdefault(tuple(arm), []).append(key)
    lines: list[str] = []
    for body, keys in by_body.items():
        lines.append(f"{indent}case {' '.join(_sq(k) for k in keys)}")
        lines.extend(f"{indent}    {line}" for line in body)
    return lines


def _fish_print(pairs: list[tuple[str, str]]) -> list[str]:
    if not pairs:
        return []
    args = " ".join(f"{_sq(name)} {_sq(text)}" for name, text in pairs)
    return [f"printf '%s\\t%s\\n' {args}"]


def fish(nodes: list[Node]) -> str:
    defaults = Defaults.of(nodes)
    subs = {n.path: _fish_print(list(n.subcommands.items())) for n in nodes if n.subcommands}
    opts: dict[str, list[str]] = {}
    vals: dict[str, list[str]] = {}
    src: dict[str, list[str]] = {}
    for node in nodes:
        options, takes_value = defaults.own(node)
        if options:
            opts[node.path] = _fish_print([(o, node.option_help[o]) for o in options])
        if takes_value:
            vals[node.path] = [f"echo {' '.join(_sq(o) for o in takes_value)}"]
        for opt in takes_value:
            source = defaults.source(node, opt)
            if source is not None:
                src[f"{node.path} {opt}".strip()] = [f"echo {_sq(source)}"]
        if node.argument is not None:
            src[node.path] = [f"echo {_sq(node.argument.key())}"]
    # what every command takes, and each option's default source (by the last word)
    everywhere = {
        "opts": _fish_print([(o, defaults.helps[o]) for o in defaults.options]),
        "vals": [f"echo {' '.join(_sq(o) for o in defaults.takes_value)}"],
    }
    src["*"] = ["__ksegcli_table default (string split ' ' -- $argv[2])[-1]"]
    default = {o: [f"echo {_sq(k)}"] for o, k in defaults.sources.items()}
    lines = [
        f"{MARKER} (`ksegcli completion fish`). Do not edit.",
        "# Offline: reads only the config folder (profiles) and the cache folder (the",
        "# sitecodes of the last project listing).",
        "function __ksegcli_table",
        "    # $argv: subs|opts|vals|src, then the command path (and the option); or",
        "    # default and an option: its value source where a command does not say.",
        "    switch $argv[1]",
    ]
    tables = (("subs", subs), ("opts", opts), ("vals", vals), ("src", src), ("default", default))
    for table, entries in tables:
        lines.append(f"        case {table}")
        lines.append('            switch "$argv[2]"')
        lines.extend(_fish_cases(entries, indent="                "))
        lines.append("            end")
        lines.extend(f"            {line}" for line in everywhere.get(table, []))
    lines += [
        "    end",
        "end",
        "",
        "function __ksegcli_dir",
        "    # $argv[1]: config|cache",
        "    set -l override $KSEG_CONFIG_DIR; set -l xdg $XDG_CONFIG_HOME",
        "    set -l sub .config; set -l mac 'Library/Application Support'",
        "    if test $argv[1] = cache",
        "        set override $KSEG_CACHE_DIR; set xdg $XDG_CACHE_HOME",
        "        set sub .cache; set mac Library/Caches",
        "    end",
        '    if test -n "$override"',
        "        string replace -r '^~' -- $HOME $override",
        "    else if test (uname) = Darwin",
        '        echo "$HOME/$mac/ksegcli"',
        "    else if string match -q -- '/*' \"$xdg\"",
        '        echo "$xdg/ksegcli"',
        "    else",
        '        echo "$HOME/$sub/ksegcli"',
        "    end",
        "end",
        "",
        "function __ksegcli_complete",
        "    set -l words (commandline -opc)",
        "    set -l cur (commandline -ct)",
        "    set -l path ''",
        "    set -l profile default",
        '    set -q KSEG_PROFILE; and test -n "$KSEG_PROFILE"; and set profile $KSEG_PROFILE',
        "    set -l i 2",
        "    while test $i -le (count $words)",
        "        set -l word $words[$i]",
        "        if string match -q -- '--profile=*' $word",
        "            set profile (string replace -- '--profile=' '' $word)",
        "        else if string match -q -- '-*' $word",
        "            if contains -- $word (string split ' ' -- (__ksegcli_table vals \"$path\"))",
        "                set i (math $i + 1)",
        "                test $word = --profile; and set -q words[$i]; and set profile $words[$i]",
        "            end",
        "        else if contains -- $word (__ksegcli_table subs \"$path\" | string replace -r '\\t.*' '')",
        '            set path (string trim -- "$path $word")',
        "        end",
        "        set i (math $i + 1)",
        "    end",
        "    set -l prev $words[-1]",
        "    set -l src",
        "    if string match -q -- '--*=*' $cur",
        "        set prev (string replace -r '=.*' '' -- $cur)",
        "        set cur (string replace -r '^[^=]*=' '' -- $cur)",
        '        set -l prefix "$prev="',
        "        __ksegcli_values (__ksegcli_table src (string trim -- \"$path $prev\")) $profile | string replace -r '^' -- $prefix",
        "        return",
        "    end",
        "    if string match -q -- '-*' $prev; and contains -- $prev (string split ' ' -- (__ksegcli_table vals \"$path\"))",
        '        set src (__ksegcli_table src (string trim -- "$path $prev"))',
        "    else if string match -q -- '-*' $cur",
        '        __ksegcli_table opts "$path"',
        "        return",
        '    else if set -l subs (__ksegcli_table subs "$path"); and set -q subs[1]',
        "        printf '%s\\n' $subs",
        "        return",
        "    else",
        '        set src (__ksegcli_table src "$path")',
        "    end",
        '    __ksegcli_values "$src" $profile',
        "end",
        "",
        "function __ksegcli_values",
        "    # $argv: the source of the values, the profile",
        '    switch "$argv[1]"',
        "        case 'static:*'",
        "            string split ' ' -- (string replace 'static:' '' -- $argv[1])",
        "        case profiles",
        "            echo default",
        "            for file in (__ksegcli_dir config)/*.toml",
        "                set -l name (string replace -r '\\.toml$' '' -- (basename -- $file))",
        f"                string match -qr -- {_sq(_PROFILE_RE)} $name; and test $name != default; and echo $name",
        "            end",
        "        case sitecodes",
        f"            string match -qr -- {_sq(_PROFILE_RE)} $argv[2]; or return",
        "            set -l file (__ksegcli_dir cache)/projects/$argv[2].tsv",
        "            test -r $file; or return",
        "            while read -l line",
        "                set -l parts (string split \\t -- $line)",
        f"                string match -qr -- {_sq(_SITECODE_RE)} $parts[1]; or continue",
        "                printf '%s\\t%s\\n' $parts[1] \"$parts[3]\"",
        "            end < $file",
        "        case files",
        "            __fish_complete_path (commandline -ct)",
        "    end",
        "end",
        "",
        "complete -c ksegcli -f -a '(__ksegcli_complete)'",
    ]
    return "\n".join(lines) + "\n"
