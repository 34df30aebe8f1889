//! Fixed-depth binary Merkle trees of raw 32-byte leaves.
//!
//! A parent is `keccak256(left || right)`; leaves are not hashed (as in Cannon's memory), so a
//! leaf is the 32 bytes it holds. Depths are fixed per tree, so one table of zero-subtree roots
//! `Z[h]` (the root of an all-zero tree of height `h`) serves every tree, and a missing subtree
//! costs nothing to hash.

use alloy_primitives::{B256, keccak256};
use std::sync::LazyLock;

/// The height of the highest zero subtree we need: memory is 21 levels, locals and tables less.
pub const MAX_HEIGHT: usize = 32;

static ZEROS: LazyLock<[B256; MAX_HEIGHT + 1]> = LazyLock::new(|| {
    let mut zeros = [B256::ZERO; MAX_HEIGHT + 1];
    for h in 1..=MAX_HEIGHT {
        zeros[h] = hash_pair(&zeros[h - 1], &zeros[h - 1]);
    }
    zeros
});

/// `Z[height]`: the root of an all-zero tree of that height (`Z[0]` is the zero leaf).
pub fn zero(height: u32) -> B256 {
    ZEROS[height as usize]
}

/// `keccak256(left || right)`.
#[inline]
pub fn hash_pair(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// The smallest `d` with `2^d >= n` (0 for `n <= 1`).
pub fn depth_for(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

/// The root of a tree of `depth` levels over `leaves` (at most `2^depth`; the rest zero), whose
/// leaves sit at `height` in a larger tree (0 for a tree of raw leaves).
pub fn root_at(leaves: &[B256], depth: u32, height: u32) -> B256 {
    assert!(
        depth < usize::BITS && leaves.len() <= 1 << depth,
        "too many leaves for the depth"
    );
    if leaves.is_empty() {
        return zero(height + depth);
    }
    let mut level: Vec<B256> = leaves.to_vec();
    for k in 0..depth {
        let z = zero(height + k);
        let next: Vec<B256> = level
            .chunks(2)
            .map(|pair| hash_pair(&pair[0], pair.get(1).unwrap_or(&z)))
            .collect();
        level = next;
    }
    level[0]
}

/// The root of a tree of raw leaves.
pub fn root(leaves: &[B256], depth: u32) -> B256 {
    root_at(leaves, depth, 0)
}

/// The root reached from `leaf` at `index` through `siblings` (bottom-up).
pub fn root_from_path(leaf: B256, index: u64, siblings: &[B256]) -> B256 {
    let mut node = leaf;
    for (k, sibling) in siblings.iter().enumerate() {
        node = if (index >> k) & 1 == 0 {
            hash_pair(&node, sibling)
        } else {
            hash_pair(sibling, &node)
        };
    }
    node
}

/// A tree that keeps every node, for cheap updates and paths: the code and table trees, the
/// input, the top of memory and each memory page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleTree {
    depth: u32,
    height: u32,
    /// `levels[0]` are the leaves; `levels[k]` the nodes `k` levels up, only as many as cover
    /// the leaves present (the rest are zero subtrees).
    levels: Vec<Vec<B256>>,
}

impl MerkleTree {
    /// A tree of `depth` levels over `leaves` (leaves sit at `height` in a larger tree).
    pub fn new(leaves: Vec<B256>, depth: u32, height: u32) -> Self {
        assert!(
            depth < usize::BITS && leaves.len() <= 1 << depth,
            "too many leaves for the depth"
        );
        let mut levels = Vec::with_capacity(depth as usize + 1);
        levels.push(leaves);
        for k in 0..depth {
            let z = zero(height + k);
            let below = &levels[k as usize];
            let next: Vec<B256> = below
                .chunks(2)
                .map(|pair| hash_pair(&pair[0], pair.get(1).unwrap_or(&z)))
                .collect();
            levels.push(next);
        }
        Self {
            depth,
            height,
            levels,
        }
    }

    /// The number of levels.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The root.
    pub fn root(&self) -> B256 {
        self.levels[self.depth as usize]
            .first()
            .copied()
            .unwrap_or_else(|| zero(self.height + self.depth))
    }

    /// The leaf at `index` (zero past the leaves present).
    pub fn leaf(&self, index: usize) -> B256 {
        self.node(0, index)
    }

    fn node(&self, level: u32, index: usize) -> B256 {
        self.levels[level as usize]
            .get(index)
            .copied()
            .unwrap_or_else(|| zero(self.height + level))
    }

    /// Replaces the leaf at `index` and rehashes its path.
    pub fn set(&mut self, index: usize, leaf: B256) {
        assert!(index < 1 << self.depth, "leaf index out of range");
        let mut i = index;
        self.put(0, i, leaf);
        for k in 0..self.depth {
            let parent = i / 2;
            let left = self.node(k, parent * 2);
            let right = self.node(k, parent * 2 + 1);
            self.put(k + 1, parent, hash_pair(&left, &right));
            i = parent;
        }
    }

    fn put(&mut self, level: u32, index: usize, node: B256) {
        let nodes = &mut self.levels[level as usize];
        if index >= nodes.len() {
            nodes.resize(index + 1, zero(self.height + level));
        }
        nodes[index] = node;
    }

    /// The siblings of the leaf at `index`, bottom-up.
    pub fn path(&self, index: usize) -> Vec<B256> {
        (0..self.depth)
            .map(|k| self.node(k, (index >> k) ^ 1))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: u8) -> B256 {
        B256::repeat_byte(n)
    }

    #[test]
    fn zero_table_is_the_root_of_zero_trees() {
        assert_eq!(zero(0), B256::ZERO);
        assert_eq!(zero(1), keccak256([0u8; 64]));
        assert_eq!(root(&[B256::ZERO; 8], 3), zero(3));
        assert_eq!(root(&[], 5), zero(5));
    }

    #[test]
    fn depth_for_counts_levels() {
        assert_eq!(
            [0, 1, 2, 3, 4, 5, 8, 9].map(depth_for),
            [0, 0, 1, 2, 2, 3, 3, 4]
        );
    }

    #[test]
    fn root_pads_with_zero_leaves() {
        let leaves = [leaf(1), leaf(2), leaf(3)];
        let full = [leaf(1), leaf(2), leaf(3), B256::ZERO];
        assert_eq!(root(&leaves, 2), root(&full, 2));
        let manual = hash_pair(
            &hash_pair(&leaf(1), &leaf(2)),
            &hash_pair(&leaf(3), &B256::ZERO),
        );
        assert_eq!(root(&leaves, 2), manual);
        // The same leaves one level deeper: the right half is a zero subtree.
        assert_eq!(root(&leaves, 3), hash_pair(&manual, &zero(2)));
    }

    #[test]
    fn cached_tree_updates_match_from_scratch_and_paths_verify() {
        let mut leaves: Vec<B256> = (1..=5).map(leaf).collect();
        let mut tree = MerkleTree::new(leaves.clone(), 4, 0);
        assert_eq!(tree.root(), root(&leaves, 4));
        tree.set(2, leaf(9));
        leaves[2] = leaf(9);
        assert_eq!(tree.root(), root(&leaves, 4));
        tree.set(12, leaf(7));
        leaves.resize(13, B256::ZERO);
        leaves[12] = leaf(7);
        assert_eq!(tree.root(), root(&leaves, 4));
        for (i, l) in leaves.iter().enumerate() {
            assert_eq!(root_from_path(*l, i as u64, &tree.path(i)), tree.root());
        }
        assert_eq!(
            root_from_path(leaf(0), 15, &tree.path(15)),
            root(
                &[leaves.clone(), vec![B256::ZERO, B256::ZERO, leaf(0)]].concat(),
                4
            )
        );
    }

    #[test]
    fn subtrees_at_a_height_use_that_heights_zeros() {
        let leaves = vec![zero(3), leaf(1)];
        let tree = MerkleTree::new(leaves.clone(), 2, 3);
        assert_eq!(tree.root(), root_at(&leaves, 2, 3));
        assert_eq!(
            tree.root(),
            hash_pair(&hash_pair(&zero(3), &leaf(1)), &zero(4))
        );
    }
}
