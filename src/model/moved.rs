//! Moves: an object recorded at one address is the same object at another (a `moved` block,
//! `cairn state mv`), so a rename or a move into a module changes state and tags, never the
//! cloud.
//!
//! Promise: resolving moves is a pure function of the moves and the addresses recorded; a
//! chain (`a → b`, `b → c`) lands at its end, and a move whose `from` is recorded no more (it
//! ran already) does nothing, so a `moved` block can stay in the configuration.

use super::{Address, SourceLocation};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One declared move: every address `from` matches (as a `--target` does) is recorded under
/// `to` instead, keeping nested blocks, `for_each` keys and regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub from: String,
    pub to: String,
    /// Where the `moved` block is.
    pub source: SourceLocation,
}

/// A move that cannot run: its new address is recorded already for another object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveCollision {
    pub from: Address,
    pub to: Address,
    /// The `moved` block that leads onto the existing address.
    pub source: SourceLocation,
}

/// The new address of every recorded address that `moves` concern, chains followed to their
/// end (each move applies at most once per address, so a cycle of moves ends too).
///
/// # Errors
/// A move onto an address that is recorded and stays: two objects cannot share one address.
pub fn resolve<'a>(
    moves: &[Moved],
    recorded: impl IntoIterator<Item = &'a Address>,
) -> Result<BTreeMap<Address, Address>, MoveCollision> {
    let recorded: BTreeSet<&Address> = recorded.into_iter().collect();
    // Each new address with the last move that led there, whose block a collision names.
    let mut renames: BTreeMap<Address, (Address, &Moved)> = BTreeMap::new();
    for address in &recorded {
        let mut current = (*address).clone();
        let mut last = None;
        let mut used = vec![false; moves.len()];
        while let Some((index, moved, next)) =
            moves.iter().enumerate().find_map(|(index, moved)| {
                let next = current.moved(&moved.from, &moved.to)?;
                (!used[index] && next != current).then_some((index, moved, next))
            })
        {
            used[index] = true;
            current = next;
            last = Some(moved);
        }
        if let Some(moved) = last
            && &current != *address
        {
            renames.insert((*address).clone(), (current, moved));
        }
    }
    for (from, (to, moved)) in &renames {
        let stays = recorded.contains(to) && !renames.contains_key(to);
        let taken_twice = renames
            .iter()
            .any(|(other, (target, _))| other != from && target == to);
        if stays || taken_twice {
            return Err(MoveCollision {
                from: from.clone(),
                to: to.clone(),
                source: moved.source.clone(),
            });
        }
    }
    Ok(renames
        .into_iter()
        .map(|(from, (to, _))| (from, to))
        .collect())
}

/// The block path `block_path` had before `moves` (chains followed back to their start): the
/// path a moved object was created under. Cloud names derive from it, so a moved security
/// group, launch template or group keeps the name it was created with, which would otherwise
/// force its replacement.
pub fn original_path(moves: &[Moved], block_path: &str) -> String {
    let mut current = Address::new(block_path);
    let mut used = vec![false; moves.len()];
    while let Some((index, previous)) = moves.iter().enumerate().rev().find_map(|(index, moved)| {
        let previous = current.moved(&moved.to, &moved.from)?;
        (!used[index] && previous != current).then_some((index, previous))
    }) {
        used[index] = true;
        current = previous;
    }
    current.as_str().to_string()
}

/// The parts a cloud name is made of for a block path `module.a.TYPE.NAME["key"]`: the module
/// names, the block name and the `for_each` key (`["a", "NAME", "key"]`).
pub fn name_parts(block_path: &str) -> Vec<String> {
    let (path, key) = match block_path.find("[\"") {
        Some(index) => (
            &block_path[..index],
            Some(block_path[index + 2..].trim_end_matches("\"]")),
        ),
        None => (block_path, None),
    };
    let segments: Vec<&str> = path.split('.').collect();
    let mut parts = Vec::new();
    let mut index = 0;
    while index + 1 < segments.len() && segments[index] == "module" {
        parts.push(segments[index + 1].to_string());
        index += 2;
    }
    if let Some(name) = segments.get(index + 1) {
        parts.push((*name).to_string());
    }
    if let Some(key) = key {
        parts.push(key.to_string());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(from: &str, to: &str, line: usize) -> Moved {
        Moved {
            from: from.to_string(),
            to: to.to_string(),
            source: SourceLocation {
                file: "main.hcl".to_string(),
                line,
                column: 1,
            },
        }
    }

    fn addresses(list: &[&str]) -> Vec<Address> {
        list.iter().map(|address| Address::new(*address)).collect()
    }

    #[test]
    fn chains_resolve_to_their_end_and_spent_moves_do_nothing() {
        let moves = [
            moved("network.main", "network.core", 1),
            moved("network.core", "network.base", 5),
        ];
        let recorded = addresses(&["network.main[us-east-1]", "volume.data[us-east-1]"]);
        let renames = resolve(&moves, &recorded).unwrap_or_default();
        assert_eq!(
            renames,
            BTreeMap::from([(
                Address::new("network.main[us-east-1]"),
                Address::new("network.base[us-east-1]")
            )])
        );
        let after = addresses(&["network.base[us-east-1]", "volume.data[us-east-1]"]);
        assert_eq!(resolve(&moves, &after), Ok(BTreeMap::new()));
    }

    #[test]
    fn names_come_from_the_path_an_object_was_created_under() {
        let moves = [
            moved("autoscaling.web", "module.web.autoscaling.web", 1),
            moved("firewall.old", "firewall.web", 2),
        ];
        assert_eq!(
            original_path(&moves, "module.web.autoscaling.web"),
            "autoscaling.web"
        );
        assert_eq!(original_path(&moves, "firewall.web"), "firewall.old");
        assert_eq!(original_path(&moves, "volume.data"), "volume.data");
        assert_eq!(name_parts("autoscaling.web"), ["web"]);
        assert_eq!(
            name_parts("module.a.module.b.firewall.web[\"k\"]"),
            ["a", "b", "web", "k"]
        );
    }

    #[test]
    fn a_cycle_of_moves_ends() {
        let moves = [
            moved("volume.a", "volume.b", 1),
            moved("volume.b", "volume.a", 5),
        ];
        let renames = resolve(&moves, &addresses(&["volume.a[us-east-1]"]));
        assert_eq!(renames, Ok(BTreeMap::new()));
    }

    #[test]
    fn a_move_onto_a_recorded_address_names_its_block() {
        let moves = [moved("network.main", "network.core", 7)];
        let recorded = addresses(&["network.main[us-east-1]", "network.core[us-east-1]"]);
        let collision = resolve(&moves, &recorded).err();
        assert_eq!(
            collision.map(|collision| (collision.to.to_string(), collision.source.line)),
            Some(("network.core[us-east-1]".to_string(), 7))
        );
    }
}
