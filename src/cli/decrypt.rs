//! `shardlock decrypt`: one file or stdin, with t key-share servers.

use anyhow::{anyhow, Result};
use rand::rngs::OsRng;

use super::args::DecryptArgs;
use super::output::{Input, Output};
use super::{warn, Settings};
use crate::client::config::{Config, ResolvedKeyset};
use crate::encoding::hex;
use crate::envelope::keywrap;
use crate::envelope::{self, SealedHeader};
use crate::threshold::kem::{Fault, ParticipantFault};

pub fn run(settings: &Settings, args: &DecryptArgs) -> Result<()> {
    if args.tree.recursive {
        return super::decrypt_tree::run(settings, args);
    }
    let mut input = Input::open(args.input.as_deref())?;
    let header = envelope::read_header(input.reader())?;
    let config = settings.load_config()?;
    let keyset = keyset_for(&config, &header)?;
    let stanza = header
        .stanza_for(keyset.public.id())
        .ok_or_else(|| anyhow!("the file has no key stanza for keyset {}", keyset.name))?;

    // Check the output first: refusing to overwrite should not cost t
    // audited evaluations. Plaintext goes to a temporary file that only
    // gets its name once the last chunk has authenticated; on any error it
    // is removed.
    let mut output = Output::open(args.output.as_deref(), args.force, false)?;
    let service = settings.key_service(&keyset)?;
    let (dek, faults) = keywrap::unwrap(&keyset.public, &service, stanza, &mut OsRng)?;
    report_faults(settings, &faults);
    let metadata = header.metadata(&dek)?;
    let bytes = envelope::decrypt_body(
        &header,
        &dek,
        input.source()?,
        &mut output.writer(),
        settings.jobs,
    )?;
    let (mode, mtime) = metadata.map(|m| (m.mode, m.mtime)).unwrap_or_default();
    output.finish(mode, mtime)?;
    settings.note(format_args!(
        "decrypted {bytes} bytes with keyset {}",
        keyset.name
    ));
    Ok(())
}

/// The configured keyset that can open this file. A configured keyset that
/// fails to resolve (say, a missing token file) reports that error rather
/// than "not found".
pub fn keyset_for(config: &Config, header: &SealedHeader) -> Result<ResolvedKeyset> {
    let ids = header.keyset_ids();
    let configured = |id: &[u8; 32]| {
        config
            .keyset_names()
            .iter()
            .any(|name| config.entry(name).is_some_and(|e| e.public().id() == id))
    };
    match ids.iter().find(|id| configured(id)) {
        Some(id) => Ok(config.keyset_by_id(id)?),
        None => {
            let wanted: Vec<String> = ids.iter().map(|id| hex(id)).collect();
            Err(anyhow!(
                "the file was encrypted for keyset {}, which is not in your config; \
                 add it (shardlock keyset create) or point --config at the right file",
                wanted.join(" or ")
            ))
        }
    }
}

/// Servers that failed while others covered for them: a lying server is a
/// loud warning (it may be compromised), an unreachable one a note.
pub fn report_faults(settings: &Settings, faults: &[ParticipantFault]) {
    for fault in faults {
        match fault.fault {
            Fault::BadProof | Fault::WrongCount { .. } => warn(format_args!(
                "key-share server {} (participant {}) returned a wrong answer that failed its proof; \
                 it was ignored, but it may be faulty or compromised: investigate it",
                fault.name, fault.participant
            )),
            Fault::Service(_) => settings.note(format_args!("note: skipped {fault}")),
        }
    }
}
