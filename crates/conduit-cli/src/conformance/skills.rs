//! The skills extension scenarios (`sep-2640-client-*`): a host lists skills without reading any
//! file (`no-prefetch`), or lists them and loads each one, reading a supporting file only after
//! the skill's `SKILL.md` passed verification (`verify-digest`, `verify-size`,
//! `verify-frontmatter`, where the server tampers with `SKILL.md`).

use conduit::Client;

use crate::Failure;

pub(crate) async fn run(client: &Client, scenario: &str) -> Result<(), Failure> {
    let skills = client.list_skills().await?;
    if scenario == "sep-2640-client-no-prefetch" {
        for s in &skills {
            eprintln!("skill {} ({} files, not loaded)", s.uri, s.resources.len());
        }
        return Ok(());
    }
    for entry in &skills {
        match client.load_skill(entry).await {
            Ok(skill) => {
                for file in &skill.entry.resources {
                    if file.uri == entry.uri {
                        continue;
                    }
                    if let Err(e) = client.read_skill_file(entry, &file.uri).await {
                        eprintln!("skill file refused: {e}");
                    }
                }
            }
            Err(e) => eprintln!("skill {} refused: {e}", entry.uri),
        }
    }
    Ok(())
}
