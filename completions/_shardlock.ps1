
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'shardlock' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'shardlock'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'shardlock' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('encrypt', 'encrypt', [CompletionResultType]::ParameterValue, 'Encrypt a file or stdin for a keyset (no server needed)')
            [CompletionResult]::new('decrypt', 'decrypt', [CompletionResultType]::ParameterValue, 'Decrypt a file or stdin with the help of t key-share servers')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List an encrypted tree: paths, sizes, modes and mtimes (asks t servers for the private index''s key)')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show a file''s header without contacting any server')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Check every server of a keyset: reachable, TLS pin, public share, latency')
            [CompletionResult]::new('keyset', 'keyset', [CompletionResultType]::ParameterValue, 'Create and manage keysets')
            [CompletionResult]::new('server', 'server', [CompletionResultType]::ParameterValue, 'Run a key-share server')
            [CompletionResult]::new('dev-cluster', 'dev-cluster', [CompletionResultType]::ParameterValue, 'Start a local t-of-n cluster of key-share servers for trying shardlock')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Run the whole job once on a throwaway local cluster, then clean up')
            [CompletionResult]::new('generate-docs', 'generate-docs', [CompletionResultType]::ParameterValue, 'Write shell completions and the man page (for maintainers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'shardlock;encrypt' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the encrypted file; "-" or nothing writes stdout. With -r, the output directory (required)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write the encrypted file; "-" or nothing writes stdout. With -r, the output directory (required)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Keyset to encrypt for [default: the config''s default keyset]')
            [CompletionResult]::new('--keyset', '--keyset', [CompletionResultType]::ParameterName, 'Keyset to encrypt for [default: the config''s default keyset]')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Skip paths matching this glob, relative to INPUT (repeatable; with -r)')
            [CompletionResult]::new('--layout', '--layout', [CompletionResultType]::ParameterName, 'Output layout of -r: "private" hides names, structure, modes, mtimes and exact sizes from the storage; "mirror" writes one NAME.slock per file beside clear names (README "What the storage sees")')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Replace outputs that exist')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace outputs that exist')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'INPUT is a directory: process the whole tree (encrypt writes a private tree by default, see --layout; decrypt reads either layout)')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'INPUT is a directory: process the whole tree (encrypt writes a private tree by default, see --layout; decrypt reads either layout)')
            [CompletionResult]::new('--skip-unchanged', '--skip-unchanged', [CompletionResultType]::ParameterName, 'Only process files whose size, mode or modification time changed since their output was written (cron mode, offline; implies replacing changed outputs)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON summary on stdout (files, bytes, skipped, failed, seconds, timestamp, exit_code), also for a single file')
            [CompletionResult]::new('--no-pad', '--no-pad', [CompletionResultType]::ParameterName, 'Private layout: do not pad object sizes (exact sizes then show)')
            [CompletionResult]::new('--delete', '--delete', [CompletionResultType]::ParameterName, 'Private layout: remove from the output the files whose source is gone (without it nothing is ever deleted)')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'shardlock;decrypt' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the plaintext; "-" or nothing writes stdout. With -r, the destination directory (required); nothing is ever written outside it')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write the plaintext; "-" or nothing writes stdout. With -r, the destination directory (required); nothing is ever written outside it')
            [CompletionResult]::new('--recovery-key', '--recovery-key', [CompletionResultType]::ParameterName, 'Open with this offline recovery key (a key file or paper key) instead of the servers; no config or server needed')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'File holding the recovery key''s passphrase [default: $SHARDLOCK_RECOVERY_PASSPHRASE, else a prompt]')
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'Restore only paths matching this glob, and the directories they need (repeatable; with -r)')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out paths matching this glob (repeatable; with -r)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Replace outputs that exist')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace outputs that exist')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'INPUT is a directory: process the whole tree (encrypt writes a private tree by default, see --layout; decrypt reads either layout)')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'INPUT is a directory: process the whole tree (encrypt writes a private tree by default, see --layout; decrypt reads either layout)')
            [CompletionResult]::new('--skip-unchanged', '--skip-unchanged', [CompletionResultType]::ParameterName, 'Only process files whose size, mode or modification time changed since their output was written (cron mode, offline; implies replacing changed outputs)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON summary on stdout (files, bytes, skipped, failed, seconds, timestamp, exit_code), also for a single file')
            [CompletionResult]::new('--preserve-special-bits', '--preserve-special-bits', [CompletionResultType]::ParameterName, 'Restore setuid, setgid and sticky bits too (dropped by default: anyone with the public keyset can create a file claiming them)')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;ls' {
            [CompletionResult]::new('--recovery-key', '--recovery-key', [CompletionResultType]::ParameterName, 'Open with this offline recovery key instead of the servers')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'File holding the recovery key''s passphrase [default: $SHARDLOCK_RECOVERY_PASSPHRASE, else a prompt]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of lines')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;inspect' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of text')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;status' {
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Keyset to check [default: the config''s default keyset]')
            [CompletionResult]::new('--keyset', '--keyset', [CompletionResultType]::ParameterName, 'Keyset to check [default: the config''s default keyset]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a new t-of-n keyset on running servers by distributed key generation (nobody ever holds the key) and add it to the config')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Give every server a new share of the same key (old shares become useless; files are untouched)')
            [CompletionResult]::new('repair', 'repair', [CompletionResultType]::ParameterValue, 'Rebuild a lost server''s share on a freshly initialised server')
            [CompletionResult]::new('reshare', 'reshare', [CompletionResultType]::ParameterValue, 'Move the same key to a new server set and/or threshold')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the configured keysets')
            [CompletionResult]::new('revoke-client', 'revoke-client', [CompletionResultType]::ParameterValue, 'Revoke a client''s token at every server of a keyset (cutting it off needs n - t + 1 of them)')
            [CompletionResult]::new('add-client', 'add-client', [CompletionResultType]::ParameterValue, 'Create a client for another machine at every server and write that machine''s config')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write an encrypt-only config for a keyset (no tokens)')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Merge the keysets of another config file (e.g. an export) into this one')
            [CompletionResult]::new('clients', 'clients', [CompletionResultType]::ParameterValue, 'List every client of a keyset at every server')
            [CompletionResult]::new('recovery-key', 'recovery-key', [CompletionResultType]::ParameterValue, 'Make an offline break-glass recovery key for a keyset: files encrypted from now on also open with it, with every server gone')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'shardlock;keyset;create' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'How many servers must cooperate to decrypt')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'How many servers must cooperate to decrypt')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'A key-share server, optionally with its certificate fingerprint: https://host:port#sha256:HEX (repeat once per server)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'A key-share server, optionally with its certificate fingerprint: https://host:port#sha256:HEX (repeat once per server)')
            [CompletionResult]::new('--admin-token-file', '--admin-token-file', [CompletionResultType]::ParameterName, 'Admin credentials: lines `URL TOKEN` (blank lines and # comments allowed); or one token for all servers, or one per server in --server order [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]')
            [CompletionResult]::new('--client-name', '--client-name', [CompletionResultType]::ParameterName, 'Name of the client token requested from each server')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--default', '--default', [CompletionResultType]::ParameterName, 'Make this the default keyset')
            [CompletionResult]::new('--dealer', '--dealer', [CompletionResultType]::ParameterName, 'Deal the key from this machine instead (weaker: the whole key exists here for a moment; docs/THREAT-MODEL.md)')
            [CompletionResult]::new('--trust-fingerprint', '--trust-fingerprint', [CompletionResultType]::ParameterName, 'Pin servers given without `#sha256:` to whatever certificate they present (only on a network you trust; a terminal asks instead)')
            [CompletionResult]::new('--resume', '--resume', [CompletionResultType]::ParameterName, 'Finish the interrupted round of this keyset (from its journal)')
            [CompletionResult]::new('--abort', '--abort', [CompletionResultType]::ParameterName, 'Roll back the interrupted round of this keyset (only before any server switched epochs)')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset;refresh' {
            [CompletionResult]::new('--admin-token-file', '--admin-token-file', [CompletionResultType]::ParameterName, 'Admin credentials: lines `URL TOKEN` (blank lines and # comments allowed), or one token for all [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--resume', '--resume', [CompletionResultType]::ParameterName, 'Finish the interrupted round of this keyset (from its journal)')
            [CompletionResult]::new('--abort', '--abort', [CompletionResultType]::ParameterName, 'Roll back the interrupted round of this keyset (only before any server switched epochs)')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset;repair' {
            [CompletionResult]::new('--participant', '--participant', [CompletionResultType]::ParameterName, 'The participant whose share was lost')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Its new, freshly initialised server: https://host:port#sha256:HEX')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Its new, freshly initialised server: https://host:port#sha256:HEX')
            [CompletionResult]::new('--admin-token-file', '--admin-token-file', [CompletionResultType]::ParameterName, 'Admin credentials: lines `URL TOKEN` (blank lines and # comments allowed), or one token for all [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]')
            [CompletionResult]::new('--client-name', '--client-name', [CompletionResultType]::ParameterName, 'Name of the client token requested from the new server')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--trust-fingerprint', '--trust-fingerprint', [CompletionResultType]::ParameterName, 'Pin servers given without `#sha256:` to whatever certificate they present (only on a network you trust; a terminal asks instead)')
            [CompletionResult]::new('--resume', '--resume', [CompletionResultType]::ParameterName, 'Finish the interrupted round of this keyset (from its journal)')
            [CompletionResult]::new('--abort', '--abort', [CompletionResultType]::ParameterName, 'Roll back the interrupted round of this keyset (only before any server switched epochs)')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset;reshare' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The new threshold [default: the current one]')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'The new threshold [default: the current one]')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'The complete new server list (servers may stay), in participant order: https://host:port#sha256:HEX (repeat once per server)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The complete new server list (servers may stay), in participant order: https://host:port#sha256:HEX (repeat once per server)')
            [CompletionResult]::new('--admin-token-file', '--admin-token-file', [CompletionResultType]::ParameterName, 'Admin credentials: lines `URL TOKEN` for old and new servers (blank lines and # comments allowed), or one token for all [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]')
            [CompletionResult]::new('--client-name', '--client-name', [CompletionResultType]::ParameterName, 'Name of the client token requested from new servers')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--trust-fingerprint', '--trust-fingerprint', [CompletionResultType]::ParameterName, 'Pin servers given without `#sha256:` to whatever certificate they present (only on a network you trust; a terminal asks instead)')
            [CompletionResult]::new('--resume', '--resume', [CompletionResultType]::ParameterName, 'Finish the interrupted round of this keyset (from its journal)')
            [CompletionResult]::new('--abort', '--abort', [CompletionResultType]::ParameterName, 'Roll back the interrupted round of this keyset (only before any server switched epochs)')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset;list' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset;revoke-client' {
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Keyset whose servers to ask [default: the config''s default keyset]')
            [CompletionResult]::new('--keyset', '--keyset', [CompletionResultType]::ParameterName, 'Keyset whose servers to ask [default: the config''s default keyset]')
            [CompletionResult]::new('--admin-token-file', '--admin-token-file', [CompletionResultType]::ParameterName, 'Admin credentials: lines `URL TOKEN`, or one token for all, or one per server in participant order [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Revoke even this machine''s own client (locks this config out)')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset;add-client' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write the new machine''s config (mode 0600; never replaced)')
            [CompletionResult]::new('--admin-token-file', '--admin-token-file', [CompletionResultType]::ParameterName, 'Admin credentials: lines `URL TOKEN`, or one token for all, or one per server in participant order [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]')
            [CompletionResult]::new('--min', '--min', [CompletionResultType]::ParameterName, 'Accept a client at only this many servers (at least the threshold) instead of all of them')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset;export' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write the export (never replaced)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Export the public keyset only (required: tokens never leave this machine; `add-client` makes a config that decrypts)')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset;import' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset;clients' {
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Keyset whose servers to ask [default: the config''s default keyset]')
            [CompletionResult]::new('--keyset', '--keyset', [CompletionResultType]::ParameterName, 'Keyset whose servers to ask [default: the config''s default keyset]')
            [CompletionResult]::new('--admin-token-file', '--admin-token-file', [CompletionResultType]::ParameterName, 'Admin credentials: lines `URL TOKEN`, or one token for all, or one per server in participant order [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object instead of a table')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset;recovery-key' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write the key, protected by a passphrase (mode 0600; never replaced). Keep it offline')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'File holding the passphrase that protects the key [default: $SHARDLOCK_RECOVERY_PASSPHRASE, else a prompt]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--paper', '--paper', [CompletionResultType]::ParameterName, 'Print the key once on stdout instead (a paper key, unprotected)')
            [CompletionResult]::new('--replace', '--replace', [CompletionResultType]::ParameterName, 'Replace the keyset''s current recovery key (files made before keep needing the old one)')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;keyset;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a new t-of-n keyset on running servers by distributed key generation (nobody ever holds the key) and add it to the config')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Give every server a new share of the same key (old shares become useless; files are untouched)')
            [CompletionResult]::new('repair', 'repair', [CompletionResultType]::ParameterValue, 'Rebuild a lost server''s share on a freshly initialised server')
            [CompletionResult]::new('reshare', 'reshare', [CompletionResultType]::ParameterValue, 'Move the same key to a new server set and/or threshold')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the configured keysets')
            [CompletionResult]::new('revoke-client', 'revoke-client', [CompletionResultType]::ParameterValue, 'Revoke a client''s token at every server of a keyset (cutting it off needs n - t + 1 of them)')
            [CompletionResult]::new('add-client', 'add-client', [CompletionResultType]::ParameterValue, 'Create a client for another machine at every server and write that machine''s config')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write an encrypt-only config for a keyset (no tokens)')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Merge the keysets of another config file (e.g. an export) into this one')
            [CompletionResult]::new('clients', 'clients', [CompletionResultType]::ParameterValue, 'List every client of a keyset at every server')
            [CompletionResult]::new('recovery-key', 'recovery-key', [CompletionResultType]::ParameterValue, 'Make an offline break-glass recovery key for a keyset: files encrypted from now on also open with it, with every server gone')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'shardlock;keyset;help;create' {
            break
        }
        'shardlock;keyset;help;refresh' {
            break
        }
        'shardlock;keyset;help;repair' {
            break
        }
        'shardlock;keyset;help;reshare' {
            break
        }
        'shardlock;keyset;help;list' {
            break
        }
        'shardlock;keyset;help;revoke-client' {
            break
        }
        'shardlock;keyset;help;add-client' {
            break
        }
        'shardlock;keyset;help;export' {
            break
        }
        'shardlock;keyset;help;import' {
            break
        }
        'shardlock;keyset;help;clients' {
            break
        }
        'shardlock;keyset;help;recovery-key' {
            break
        }
        'shardlock;keyset;help;help' {
            break
        }
        'shardlock;server' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a server state directory: TLS key and certificate, admin credential')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Serve HTTPS from a state directory until SIGINT/SIGTERM')
            [CompletionResult]::new('unseal', 'unseal', [CompletionResultType]::ParameterValue, 'Give a running sealed server its passphrase or key file')
            [CompletionResult]::new('seal', 'seal', [CompletionResultType]::ParameterValue, 'Change the passphrase or key file that seals a server''s shares')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Copy a server''s state directory consistently, while it runs')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Check the audit log''s hash chain')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'shardlock;server;init' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'State directory to create')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Extra DNS name or IP address for the certificate (repeatable)')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'File holding the passphrase (mode 0600; one trailing newline is dropped) [default: $SHARDLOCK_SERVER_PASSPHRASE, else a prompt]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Seal key file instead of a passphrase (init creates it if missing)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--insecure-no-seal', '--insecure-no-seal', [CompletionResultType]::ParameterName, 'Keep the shares'' seal key in clear: for tests and experiments only')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;server;run' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'State directory made by `server init`')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (port 0 picks a free port)')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'File holding the passphrase (mode 0600; one trailing newline is dropped) [default: $SHARDLOCK_SERVER_PASSPHRASE, else a prompt]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Seal key file instead of a passphrase (init creates it if missing)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--insecure-no-seal', '--insecure-no-seal', [CompletionResultType]::ParameterName, 'Only to start on a database that has no seal yet: seal it with its key in clear (tests only)')
            [CompletionResult]::new('--exit-on-stdin-eof', '--exit-on-stdin-eof', [CompletionResultType]::ParameterName, 'Shut down when stdin reaches end of file (used by dev-cluster so nodes never outlive it)')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;server;unseal' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The server: https://host:port, with #sha256:HEX unless --dir gives its certificate')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The server''s state directory, to pin its certificate from DIR/tls/cert.pem (when run on the server''s machine)')
            [CompletionResult]::new('--admin-token-file', '--admin-token-file', [CompletionResultType]::ParameterName, 'File holding the server''s admin token [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'File holding the passphrase (mode 0600; one trailing newline is dropped) [default: $SHARDLOCK_SERVER_PASSPHRASE, else a prompt]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Seal key file instead of a passphrase (init creates it if missing)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;server;seal' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'State directory made by `server init`')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'File holding the passphrase (mode 0600; one trailing newline is dropped) [default: $SHARDLOCK_SERVER_PASSPHRASE, else a prompt]')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Seal key file instead of a passphrase (init creates it if missing)')
            [CompletionResult]::new('--new-passphrase-file', '--new-passphrase-file', [CompletionResultType]::ParameterName, 'File holding the new passphrase [default: a prompt]')
            [CompletionResult]::new('--new-key-file', '--new-key-file', [CompletionResultType]::ParameterName, 'New seal key file (created if missing)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;server;backup' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'State directory of the server (it may be running)')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'New directory to write the backup to (a complete state directory, shares still sealed)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;server;audit' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Verify that no audit record was removed, altered, inserted or reordered, and print the chain''s head to keep elsewhere')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'shardlock;server;audit;verify' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'State directory made by `server init` (its audit.log is checked)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'An audit log file to check instead (e.g. a shipped copy)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;server;audit;help' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Verify that no audit record was removed, altered, inserted or reordered, and print the chain''s head to keep elsewhere')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'shardlock;server;audit;help;verify' {
            break
        }
        'shardlock;server;audit;help;help' {
            break
        }
        'shardlock;server;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a server state directory: TLS key and certificate, admin credential')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Serve HTTPS from a state directory until SIGINT/SIGTERM')
            [CompletionResult]::new('unseal', 'unseal', [CompletionResultType]::ParameterValue, 'Give a running sealed server its passphrase or key file')
            [CompletionResult]::new('seal', 'seal', [CompletionResultType]::ParameterValue, 'Change the passphrase or key file that seals a server''s shares')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Copy a server''s state directory consistently, while it runs')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Check the audit log''s hash chain')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'shardlock;server;help;init' {
            break
        }
        'shardlock;server;help;run' {
            break
        }
        'shardlock;server;help;unseal' {
            break
        }
        'shardlock;server;help;seal' {
            break
        }
        'shardlock;server;help;backup' {
            break
        }
        'shardlock;server;help;audit' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Verify that no audit record was removed, altered, inserted or reordered, and print the chain''s head to keep elsewhere')
            break
        }
        'shardlock;server;help;audit;verify' {
            break
        }
        'shardlock;server;help;help' {
            break
        }
        'shardlock;dev-cluster' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory for the nodes'' state and the generated config.toml')
            [CompletionResult]::new('--nodes', '--nodes', [CompletionResultType]::ParameterName, 'Number of key-share servers')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Servers needed to decrypt')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;demo' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Keep the demo''s temporary directory instead of deleting it')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;generate-docs' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Directory to write completions/ and man/ into')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Client configuration file [default: $SHARDLOCK_CONFIG, then $XDG_CONFIG_HOME/shardlock/config.toml]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: number of cores]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Time to connect to a key-share server, e.g. 2s or 500ms [default: the config''s network.connect_timeout, else 2s]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of one request to a key-share server, e.g. 10s [default: the config''s network.request_timeout, else 10s]. A slow server is hedged with a spare long before this')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Allow plain http:// key-share servers on loopback addresses (tests and local experiments only; never crosses a network)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and no progress bar)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'shardlock;help' {
            [CompletionResult]::new('encrypt', 'encrypt', [CompletionResultType]::ParameterValue, 'Encrypt a file or stdin for a keyset (no server needed)')
            [CompletionResult]::new('decrypt', 'decrypt', [CompletionResultType]::ParameterValue, 'Decrypt a file or stdin with the help of t key-share servers')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List an encrypted tree: paths, sizes, modes and mtimes (asks t servers for the private index''s key)')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show a file''s header without contacting any server')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Check every server of a keyset: reachable, TLS pin, public share, latency')
            [CompletionResult]::new('keyset', 'keyset', [CompletionResultType]::ParameterValue, 'Create and manage keysets')
            [CompletionResult]::new('server', 'server', [CompletionResultType]::ParameterValue, 'Run a key-share server')
            [CompletionResult]::new('dev-cluster', 'dev-cluster', [CompletionResultType]::ParameterValue, 'Start a local t-of-n cluster of key-share servers for trying shardlock')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Run the whole job once on a throwaway local cluster, then clean up')
            [CompletionResult]::new('generate-docs', 'generate-docs', [CompletionResultType]::ParameterValue, 'Write shell completions and the man page (for maintainers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'shardlock;help;encrypt' {
            break
        }
        'shardlock;help;decrypt' {
            break
        }
        'shardlock;help;ls' {
            break
        }
        'shardlock;help;inspect' {
            break
        }
        'shardlock;help;status' {
            break
        }
        'shardlock;help;keyset' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a new t-of-n keyset on running servers by distributed key generation (nobody ever holds the key) and add it to the config')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Give every server a new share of the same key (old shares become useless; files are untouched)')
            [CompletionResult]::new('repair', 'repair', [CompletionResultType]::ParameterValue, 'Rebuild a lost server''s share on a freshly initialised server')
            [CompletionResult]::new('reshare', 'reshare', [CompletionResultType]::ParameterValue, 'Move the same key to a new server set and/or threshold')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the configured keysets')
            [CompletionResult]::new('revoke-client', 'revoke-client', [CompletionResultType]::ParameterValue, 'Revoke a client''s token at every server of a keyset (cutting it off needs n - t + 1 of them)')
            [CompletionResult]::new('add-client', 'add-client', [CompletionResultType]::ParameterValue, 'Create a client for another machine at every server and write that machine''s config')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write an encrypt-only config for a keyset (no tokens)')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Merge the keysets of another config file (e.g. an export) into this one')
            [CompletionResult]::new('clients', 'clients', [CompletionResultType]::ParameterValue, 'List every client of a keyset at every server')
            [CompletionResult]::new('recovery-key', 'recovery-key', [CompletionResultType]::ParameterValue, 'Make an offline break-glass recovery key for a keyset: files encrypted from now on also open with it, with every server gone')
            break
        }
        'shardlock;help;keyset;create' {
            break
        }
        'shardlock;help;keyset;refresh' {
            break
        }
        'shardlock;help;keyset;repair' {
            break
        }
        'shardlock;help;keyset;reshare' {
            break
        }
        'shardlock;help;keyset;list' {
            break
        }
        'shardlock;help;keyset;revoke-client' {
            break
        }
        'shardlock;help;keyset;add-client' {
            break
        }
        'shardlock;help;keyset;export' {
            break
        }
        'shardlock;help;keyset;import' {
            break
        }
        'shardlock;help;keyset;clients' {
            break
        }
        'shardlock;help;keyset;recovery-key' {
            break
        }
        'shardlock;help;server' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a server state directory: TLS key and certificate, admin credential')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Serve HTTPS from a state directory until SIGINT/SIGTERM')
            [CompletionResult]::new('unseal', 'unseal', [CompletionResultType]::ParameterValue, 'Give a running sealed server its passphrase or key file')
            [CompletionResult]::new('seal', 'seal', [CompletionResultType]::ParameterValue, 'Change the passphrase or key file that seals a server''s shares')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Copy a server''s state directory consistently, while it runs')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Check the audit log''s hash chain')
            break
        }
        'shardlock;help;server;init' {
            break
        }
        'shardlock;help;server;run' {
            break
        }
        'shardlock;help;server;unseal' {
            break
        }
        'shardlock;help;server;seal' {
            break
        }
        'shardlock;help;server;backup' {
            break
        }
        'shardlock;help;server;audit' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Verify that no audit record was removed, altered, inserted or reordered, and print the chain''s head to keep elsewhere')
            break
        }
        'shardlock;help;server;audit;verify' {
            break
        }
        'shardlock;help;dev-cluster' {
            break
        }
        'shardlock;help;demo' {
            break
        }
        'shardlock;help;generate-docs' {
            break
        }
        'shardlock;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
