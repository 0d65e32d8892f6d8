# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_shardlock_global_optspecs
    string join \n config= allow-http q/quiet j/jobs= connect-timeout= timeout= h/help V/version
end

function __fish_shardlock_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_shardlock_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_shardlock_using_subcommand
    set -l cmd (__fish_shardlock_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c shardlock -n "__fish_shardlock_needs_command" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_needs_command" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_needs_command" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_needs_command" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_needs_command" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_needs_command" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shardlock -n "__fish_shardlock_needs_command" -s V -l version -d 'Print version'
complete -c shardlock -n "__fish_shardlock_needs_command" -f -a "encrypt" -d 'Encrypt a file or stdin for a keyset (no server needed)'
complete -c shardlock -n "__fish_shardlock_needs_command" -f -a "decrypt" -d 'Decrypt a file or stdin with the help of t key-share servers'
complete -c shardlock -n "__fish_shardlock_needs_command" -f -a "ls" -d 'List an encrypted tree: paths, sizes, modes and mtimes (asks t servers for the private index\'s key)'
complete -c shardlock -n "__fish_shardlock_needs_command" -f -a "inspect" -d 'Show a file\'s header without contacting any server'
complete -c shardlock -n "__fish_shardlock_needs_command" -f -a "status" -d 'Check every server of a keyset: reachable, TLS pin, public share, latency'
complete -c shardlock -n "__fish_shardlock_needs_command" -f -a "keyset" -d 'Create and manage keysets'
complete -c shardlock -n "__fish_shardlock_needs_command" -f -a "server" -d 'Run a key-share server'
complete -c shardlock -n "__fish_shardlock_needs_command" -f -a "dev-cluster" -d 'Start a local t-of-n cluster of key-share servers for trying shardlock'
complete -c shardlock -n "__fish_shardlock_needs_command" -f -a "demo" -d 'Run the whole job once on a throwaway local cluster, then clean up'
complete -c shardlock -n "__fish_shardlock_needs_command" -f -a "generate-docs" -d 'Write shell completions and the man page (for maintainers)'
complete -c shardlock -n "__fish_shardlock_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -s o -l output -d 'Where to write the encrypted file; "-" or nothing writes stdout. With -r, the output directory (required)' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -s k -l keyset -d 'Keyset to encrypt for [default: the config\'s default keyset]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -l exclude -d 'Skip paths matching this glob, relative to INPUT (repeatable; with -r)' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -l layout -d 'Output layout of -r: "private" hides names, structure, modes, mtimes and exact sizes from the storage; "mirror" writes one NAME.slock per file beside clear names (README "What the storage sees")' -r -f -a "private\t'Opaque objects and an encrypted index (the default)'
mirror\t'One NAME.slock per file in the source\'s own structure'"
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -s f -l force -d 'Replace outputs that exist'
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -s r -l recursive -d 'INPUT is a directory: process the whole tree (encrypt writes a private tree by default, see --layout; decrypt reads either layout)'
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -l skip-unchanged -d 'Only process files whose size, mode or modification time changed since their output was written (cron mode, offline; implies replacing changed outputs)'
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -l json -d 'Print one JSON summary on stdout (files, bytes, skipped, failed, seconds, timestamp, exit_code), also for a single file'
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -l no-pad -d 'Private layout: do not pad object sizes (exact sizes then show)'
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -l delete -d 'Private layout: remove from the output the files whose source is gone (without it nothing is ever deleted)'
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand encrypt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -s o -l output -d 'Where to write the plaintext; "-" or nothing writes stdout. With -r, the destination directory (required); nothing is ever written outside it' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -l recovery-key -d 'Open with this offline recovery key (a key file or paper key) instead of the servers; no config or server needed' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -l passphrase-file -d 'File holding the recovery key\'s passphrase [default: $SHARDLOCK_RECOVERY_PASSPHRASE, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -l include -d 'Restore only paths matching this glob, and the directories they need (repeatable; with -r)' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -l exclude -d 'Leave out paths matching this glob (repeatable; with -r)' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -s f -l force -d 'Replace outputs that exist'
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -s r -l recursive -d 'INPUT is a directory: process the whole tree (encrypt writes a private tree by default, see --layout; decrypt reads either layout)'
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -l skip-unchanged -d 'Only process files whose size, mode or modification time changed since their output was written (cron mode, offline; implies replacing changed outputs)'
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -l json -d 'Print one JSON summary on stdout (files, bytes, skipped, failed, seconds, timestamp, exit_code), also for a single file'
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -l preserve-special-bits -d 'Restore setuid, setgid and sticky bits too (dropped by default: anyone with the public keyset can create a file claiming them)'
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand decrypt" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand ls" -l recovery-key -d 'Open with this offline recovery key instead of the servers' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand ls" -l passphrase-file -d 'File holding the recovery key\'s passphrase [default: $SHARDLOCK_RECOVERY_PASSPHRASE, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand ls" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand ls" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand ls" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand ls" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand ls" -l json -d 'Print one JSON document instead of lines'
complete -c shardlock -n "__fish_shardlock_using_subcommand ls" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand ls" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand ls" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand inspect" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand inspect" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand inspect" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand inspect" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand inspect" -l json -d 'Print JSON instead of text'
complete -c shardlock -n "__fish_shardlock_using_subcommand inspect" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand inspect" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand status" -s k -l keyset -d 'Keyset to check [default: the config\'s default keyset]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand status" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand status" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand status" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand status" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand status" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand status" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand status" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "create" -d 'Create a new t-of-n keyset on running servers by distributed key generation (nobody ever holds the key) and add it to the config'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "refresh" -d 'Give every server a new share of the same key (old shares become useless; files are untouched)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "repair" -d 'Rebuild a lost server\'s share on a freshly initialised server'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "reshare" -d 'Move the same key to a new server set and/or threshold'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "list" -d 'List the configured keysets'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "revoke-client" -d 'Revoke a client\'s token at every server of a keyset (cutting it off needs n - t + 1 of them)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "add-client" -d 'Create a client for another machine at every server and write that machine\'s config'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "export" -d 'Write an encrypt-only config for a keyset (no tokens)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "import" -d 'Merge the keysets of another config file (e.g. an export) into this one'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "clients" -d 'List every client of a keyset at every server'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "recovery-key" -d 'Make an offline break-glass recovery key for a keyset: files encrypted from now on also open with it, with every server gone'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and not __fish_seen_subcommand_from create refresh repair reshare list revoke-client add-client export import clients recovery-key help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -s t -l threshold -d 'How many servers must cooperate to decrypt' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -s s -l server -d 'A key-share server, optionally with its certificate fingerprint: https://host:port#sha256:HEX (repeat once per server)' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -l admin-token-file -d 'Admin credentials: lines `URL TOKEN` (blank lines and # comments allowed); or one token for all servers, or one per server in --server order [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -l client-name -d 'Name of the client token requested from each server' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -l default -d 'Make this the default keyset'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -l dealer -d 'Deal the key from this machine instead (weaker: the whole key exists here for a moment; docs/THREAT-MODEL.md)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -l trust-fingerprint -d 'Pin servers given without `#sha256:` to whatever certificate they present (only on a network you trust; a terminal asks instead)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -l resume -d 'Finish the interrupted round of this keyset (from its journal)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -l abort -d 'Roll back the interrupted round of this keyset (only before any server switched epochs)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from refresh" -l admin-token-file -d 'Admin credentials: lines `URL TOKEN` (blank lines and # comments allowed), or one token for all [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from refresh" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from refresh" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from refresh" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from refresh" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from refresh" -l resume -d 'Finish the interrupted round of this keyset (from its journal)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from refresh" -l abort -d 'Roll back the interrupted round of this keyset (only before any server switched epochs)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from refresh" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from refresh" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from refresh" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -l participant -d 'The participant whose share was lost' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -s s -l server -d 'Its new, freshly initialised server: https://host:port#sha256:HEX' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -l admin-token-file -d 'Admin credentials: lines `URL TOKEN` (blank lines and # comments allowed), or one token for all [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -l client-name -d 'Name of the client token requested from the new server' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -l trust-fingerprint -d 'Pin servers given without `#sha256:` to whatever certificate they present (only on a network you trust; a terminal asks instead)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -l resume -d 'Finish the interrupted round of this keyset (from its journal)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -l abort -d 'Roll back the interrupted round of this keyset (only before any server switched epochs)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from repair" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -s t -l threshold -d 'The new threshold [default: the current one]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -s s -l server -d 'The complete new server list (servers may stay), in participant order: https://host:port#sha256:HEX (repeat once per server)' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -l admin-token-file -d 'Admin credentials: lines `URL TOKEN` for old and new servers (blank lines and # comments allowed), or one token for all [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -l client-name -d 'Name of the client token requested from new servers' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -l trust-fingerprint -d 'Pin servers given without `#sha256:` to whatever certificate they present (only on a network you trust; a terminal asks instead)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -l resume -d 'Finish the interrupted round of this keyset (from its journal)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -l abort -d 'Roll back the interrupted round of this keyset (only before any server switched epochs)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from reshare" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from list" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from list" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from list" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from list" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from list" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from revoke-client" -s k -l keyset -d 'Keyset whose servers to ask [default: the config\'s default keyset]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from revoke-client" -l admin-token-file -d 'Admin credentials: lines `URL TOKEN`, or one token for all, or one per server in participant order [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from revoke-client" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from revoke-client" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from revoke-client" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from revoke-client" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from revoke-client" -l force -d 'Revoke even this machine\'s own client (locks this config out)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from revoke-client" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from revoke-client" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from revoke-client" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from add-client" -l out -d 'Where to write the new machine\'s config (mode 0600; never replaced)' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from add-client" -l admin-token-file -d 'Admin credentials: lines `URL TOKEN`, or one token for all, or one per server in participant order [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from add-client" -l min -d 'Accept a client at only this many servers (at least the threshold) instead of all of them' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from add-client" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from add-client" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from add-client" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from add-client" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from add-client" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from add-client" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from add-client" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from export" -l out -d 'Where to write the export (never replaced)' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from export" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from export" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from export" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from export" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from export" -l public -d 'Export the public keyset only (required: tokens never leave this machine; `add-client` makes a config that decrypts)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from export" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from import" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from import" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from import" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from import" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from import" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from clients" -s k -l keyset -d 'Keyset whose servers to ask [default: the config\'s default keyset]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from clients" -l admin-token-file -d 'Admin credentials: lines `URL TOKEN`, or one token for all, or one per server in participant order [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from clients" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from clients" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from clients" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from clients" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from clients" -l json -d 'One JSON object instead of a table'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from clients" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from clients" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from clients" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from recovery-key" -l out -d 'Where to write the key, protected by a passphrase (mode 0600; never replaced). Keep it offline' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from recovery-key" -l passphrase-file -d 'File holding the passphrase that protects the key [default: $SHARDLOCK_RECOVERY_PASSPHRASE, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from recovery-key" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from recovery-key" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from recovery-key" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from recovery-key" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from recovery-key" -l paper -d 'Print the key once on stdout instead (a paper key, unprotected)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from recovery-key" -l replace -d 'Replace the keyset\'s current recovery key (files made before keep needing the old one)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from recovery-key" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from recovery-key" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from recovery-key" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a new t-of-n keyset on running servers by distributed key generation (nobody ever holds the key) and add it to the config'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "refresh" -d 'Give every server a new share of the same key (old shares become useless; files are untouched)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "repair" -d 'Rebuild a lost server\'s share on a freshly initialised server'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "reshare" -d 'Move the same key to a new server set and/or threshold'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the configured keysets'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "revoke-client" -d 'Revoke a client\'s token at every server of a keyset (cutting it off needs n - t + 1 of them)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "add-client" -d 'Create a client for another machine at every server and write that machine\'s config'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "export" -d 'Write an encrypt-only config for a keyset (no tokens)'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "import" -d 'Merge the keysets of another config file (e.g. an export) into this one'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "clients" -d 'List every client of a keyset at every server'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "recovery-key" -d 'Make an offline break-glass recovery key for a keyset: files encrypted from now on also open with it, with every server gone'
complete -c shardlock -n "__fish_shardlock_using_subcommand keyset; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -f -a "init" -d 'Create a server state directory: TLS key and certificate, admin credential'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -f -a "run" -d 'Serve HTTPS from a state directory until SIGINT/SIGTERM'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -f -a "unseal" -d 'Give a running sealed server its passphrase or key file'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -f -a "seal" -d 'Change the passphrase or key file that seals a server\'s shares'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -f -a "backup" -d 'Copy a server\'s state directory consistently, while it runs'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -f -a "audit" -d 'Check the audit log\'s hash chain'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and not __fish_seen_subcommand_from init run unseal seal backup audit help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -l dir -d 'State directory to create' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -l name -d 'Extra DNS name or IP address for the certificate (repeatable)' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -l passphrase-file -d 'File holding the passphrase (mode 0600; one trailing newline is dropped) [default: $SHARDLOCK_SERVER_PASSPHRASE, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -l key-file -d 'Seal key file instead of a passphrase (init creates it if missing)' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -l insecure-no-seal -d 'Keep the shares\' seal key in clear: for tests and experiments only'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -l dir -d 'State directory made by `server init`' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -l listen -d 'Address to listen on (port 0 picks a free port)' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -l passphrase-file -d 'File holding the passphrase (mode 0600; one trailing newline is dropped) [default: $SHARDLOCK_SERVER_PASSPHRASE, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -l key-file -d 'Seal key file instead of a passphrase (init creates it if missing)' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -l insecure-no-seal -d 'Only to start on a database that has no seal yet: seal it with its key in clear (tests only)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -l exit-on-stdin-eof -d 'Shut down when stdin reaches end of file (used by dev-cluster so nodes never outlive it)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -l server -d 'The server: https://host:port, with #sha256:HEX unless --dir gives its certificate' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -l dir -d 'The server\'s state directory, to pin its certificate from DIR/tls/cert.pem (when run on the server\'s machine)' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -l admin-token-file -d 'File holding the server\'s admin token [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -l passphrase-file -d 'File holding the passphrase (mode 0600; one trailing newline is dropped) [default: $SHARDLOCK_SERVER_PASSPHRASE, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -l key-file -d 'Seal key file instead of a passphrase (init creates it if missing)' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from unseal" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -l dir -d 'State directory made by `server init`' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -l passphrase-file -d 'File holding the passphrase (mode 0600; one trailing newline is dropped) [default: $SHARDLOCK_SERVER_PASSPHRASE, else a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -l key-file -d 'Seal key file instead of a passphrase (init creates it if missing)' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -l new-passphrase-file -d 'File holding the new passphrase [default: a prompt]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -l new-key-file -d 'New seal key file (created if missing)' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from seal" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from backup" -l dir -d 'State directory of the server (it may be running)' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from backup" -l out -d 'New directory to write the backup to (a complete state directory, shares still sealed)' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from backup" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from backup" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from backup" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from backup" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from backup" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from backup" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from backup" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from audit" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from audit" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from audit" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from audit" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from audit" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from audit" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from audit" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from audit" -f -a "verify" -d 'Verify that no audit record was removed, altered, inserted or reordered, and print the chain\'s head to keep elsewhere'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from audit" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "init" -d 'Create a server state directory: TLS key and certificate, admin credential'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "run" -d 'Serve HTTPS from a state directory until SIGINT/SIGTERM'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "unseal" -d 'Give a running sealed server its passphrase or key file'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "seal" -d 'Change the passphrase or key file that seals a server\'s shares'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "backup" -d 'Copy a server\'s state directory consistently, while it runs'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "audit" -d 'Check the audit log\'s hash chain'
complete -c shardlock -n "__fish_shardlock_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shardlock -n "__fish_shardlock_using_subcommand dev-cluster" -l dir -d 'Directory for the nodes\' state and the generated config.toml' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand dev-cluster" -l nodes -d 'Number of key-share servers' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand dev-cluster" -l threshold -d 'Servers needed to decrypt' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand dev-cluster" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand dev-cluster" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand dev-cluster" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand dev-cluster" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand dev-cluster" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand dev-cluster" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand dev-cluster" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand demo" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand demo" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand demo" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand demo" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand demo" -l keep -d 'Keep the demo\'s temporary directory instead of deleting it'
complete -c shardlock -n "__fish_shardlock_using_subcommand demo" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand demo" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand demo" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand generate-docs" -l out -d 'Directory to write completions/ and man/ into' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand generate-docs" -l config -d 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]' -r -F
complete -c shardlock -n "__fish_shardlock_using_subcommand generate-docs" -s j -l jobs -d 'Worker threads [default: number of cores]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand generate-docs" -l connect-timeout -d 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config\'s network.connect_timeout, else 2s]' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand generate-docs" -l timeout -d 'Deadline of one request to a key-share server, e.g. 10s [default: the config\'s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this' -r
complete -c shardlock -n "__fish_shardlock_using_subcommand generate-docs" -l allow-http -d 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)'
complete -c shardlock -n "__fish_shardlock_using_subcommand generate-docs" -s q -l quiet -d 'Print nothing but errors (and no progress bar)'
complete -c shardlock -n "__fish_shardlock_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and not __fish_seen_subcommand_from encrypt decrypt ls inspect status keyset server dev-cluster demo generate-docs help" -f -a "encrypt" -d 'Encrypt a file or stdin for a keyset (no server needed)'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and not __fish_seen_subcommand_from encrypt decrypt ls inspect status keyset server dev-cluster demo generate-docs help" -f -a "decrypt" -d 'Decrypt a file or stdin with the help of t key-share servers'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and not __fish_seen_subcommand_from encrypt decrypt ls inspect status keyset server dev-cluster demo generate-docs help" -f -a "ls" -d 'List an encrypted tree: paths, sizes, modes and mtimes (asks t servers for the private index\'s key)'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and not __fish_seen_subcommand_from encrypt decrypt ls inspect status keyset server dev-cluster demo generate-docs help" -f -a "inspect" -d 'Show a file\'s header without contacting any server'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and not __fish_seen_subcommand_from encrypt decrypt ls inspect status keyset server dev-cluster demo generate-docs help" -f -a "status" -d 'Check every server of a keyset: reachable, TLS pin, public share, latency'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and not __fish_seen_subcommand_from encrypt decrypt ls inspect status keyset server dev-cluster demo generate-docs help" -f -a "keyset" -d 'Create and manage keysets'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and not __fish_seen_subcommand_from encrypt decrypt ls inspect status keyset server dev-cluster demo generate-docs help" -f -a "server" -d 'Run a key-share server'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and not __fish_seen_subcommand_from encrypt decrypt ls inspect status keyset server dev-cluster demo generate-docs help" -f -a "dev-cluster" -d 'Start a local t-of-n cluster of key-share servers for trying shardlock'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and not __fish_seen_subcommand_from encrypt decrypt ls inspect status keyset server dev-cluster demo generate-docs help" -f -a "demo" -d 'Run the whole job once on a throwaway local cluster, then clean up'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and not __fish_seen_subcommand_from encrypt decrypt ls inspect status keyset server dev-cluster demo generate-docs help" -f -a "generate-docs" -d 'Write shell completions and the man page (for maintainers)'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and not __fish_seen_subcommand_from encrypt decrypt ls inspect status keyset server dev-cluster demo generate-docs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from keyset" -f -a "create" -d 'Create a new t-of-n keyset on running servers by distributed key generation (nobody ever holds the key) and add it to the config'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from keyset" -f -a "refresh" -d 'Give every server a new share of the same key (old shares become useless; files are untouched)'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from keyset" -f -a "repair" -d 'Rebuild a lost server\'s share on a freshly initialised server'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from keyset" -f -a "reshare" -d 'Move the same key to a new server set and/or threshold'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from keyset" -f -a "list" -d 'List the configured keysets'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from keyset" -f -a "revoke-client" -d 'Revoke a client\'s token at every server of a keyset (cutting it off needs n - t + 1 of them)'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from keyset" -f -a "add-client" -d 'Create a client for another machine at every server and write that machine\'s config'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from keyset" -f -a "export" -d 'Write an encrypt-only config for a keyset (no tokens)'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from keyset" -f -a "import" -d 'Merge the keysets of another config file (e.g. an export) into this one'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from keyset" -f -a "clients" -d 'List every client of a keyset at every server'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from keyset" -f -a "recovery-key" -d 'Make an offline break-glass recovery key for a keyset: files encrypted from now on also open with it, with every server gone'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from server" -f -a "init" -d 'Create a server state directory: TLS key and certificate, admin credential'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from server" -f -a "run" -d 'Serve HTTPS from a state directory until SIGINT/SIGTERM'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from server" -f -a "unseal" -d 'Give a running sealed server its passphrase or key file'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from server" -f -a "seal" -d 'Change the passphrase or key file that seals a server\'s shares'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from server" -f -a "backup" -d 'Copy a server\'s state directory consistently, while it runs'
complete -c shardlock -n "__fish_shardlock_using_subcommand help; and __fish_seen_subcommand_from server" -f -a "audit" -d 'Check the audit log\'s hash chain'
