//! The machine's linear memory: flat bytes for speed, a Merkle tree hashed lazily, and cheap
//! snapshots.
//!
//! ```text
//! memory root (21 levels over 32-byte leaves)
//!   top: 10 levels over 1,024 page roots                 MerkleTree, kept whole
//!   page: 6 levels over 64 block roots                   PageHashes, kept whole per page
//!   block: 5 levels over 32 leaves (1 KiB of memory)     rehashed from the bytes when dirty
//! ```
//!
//! Stores only set a bit per 1 KiB block; [`Memory::root`] rehashes the dirty blocks, their
//! pages' paths and the top. A [`MemorySnapshot`] shares every page that did not change since
//! the previous snapshot (pages are `Arc`s), so snapshots cost what the program wrote; taking
//! one copies bytes and never hashes (a page written since the last hash is stored without its
//! hashes, and rehashed only if a query needs it after a restore).

use crate::{
    limits::{LEAF_BYTES, MAX_PAGES, PAGE_BYTES, PAGE_DEPTH},
    tree::{MerkleTree, hash_pair, zero},
};
use alloy_primitives::B256;
use std::sync::{Arc, LazyLock};

/// Bytes in a block, the unit of dirty tracking: 32 leaves, a subtree of 5 levels.
const BLOCK_BYTES: usize = 1024;
const BLOCK_DEPTH: u32 = 5;
const BLOCKS_PER_PAGE: usize = PAGE_BYTES / BLOCK_BYTES;
/// Levels from the page roots to the memory root.
const TOP_DEPTH: u32 = 10;

/// The hashes of one page above its blocks: a heap-ordered binary tree, root at 1, the 64
/// block roots at 64..128.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PageHashes {
    nodes: [B256; 2 * BLOCKS_PER_PAGE],
}

impl PageHashes {
    fn zero() -> Self {
        let mut nodes = [B256::ZERO; 2 * BLOCKS_PER_PAGE];
        for (i, node) in nodes.iter_mut().enumerate().skip(1) {
            // Node i is at height BLOCK_DEPTH + (6 - floor(log2 i)).
            let level = usize::BITS - 1 - i.leading_zeros();
            *node = zero(BLOCK_DEPTH + 6 - level);
        }
        Self { nodes }
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        let mut hashes = Self::zero();
        for b in 0..BLOCKS_PER_PAGE {
            hashes.nodes[BLOCKS_PER_PAGE + b] =
                block_root(&bytes[b * BLOCK_BYTES..][..BLOCK_BYTES]);
        }
        for i in (1..BLOCKS_PER_PAGE).rev() {
            hashes.nodes[i] = hash_pair(&hashes.nodes[2 * i], &hashes.nodes[2 * i + 1]);
        }
        hashes
    }

    fn root(&self) -> B256 {
        self.nodes[1]
    }

    fn set_block(&mut self, block: usize, root: B256) {
        let mut i = BLOCKS_PER_PAGE + block;
        self.nodes[i] = root;
        while i > 1 {
            i /= 2;
            self.nodes[i] = hash_pair(&self.nodes[2 * i], &self.nodes[2 * i + 1]);
        }
    }

    /// Siblings from a block root up to the page root.
    fn path(&self, block: usize) -> Vec<B256> {
        let mut i = BLOCKS_PER_PAGE + block;
        let mut path = Vec::with_capacity(6);
        while i > 1 {
            path.push(self.nodes[i ^ 1]);
            i /= 2;
        }
        path
    }
}

/// The root of one 1 KiB block: 32 raw leaves, 5 levels.
fn block_root(bytes: &[u8]) -> B256 {
    debug_assert_eq!(bytes.len(), BLOCK_BYTES);
    if bytes.iter().all(|b| *b == 0) {
        return zero(BLOCK_DEPTH);
    }
    let mut level = [B256::ZERO; 32];
    for (i, leaf) in level.iter_mut().enumerate() {
        *leaf = B256::from_slice(&bytes[i * LEAF_BYTES..][..LEAF_BYTES]);
    }
    let mut n = 32;
    while n > 1 {
        for i in 0..n / 2 {
            level[i] = hash_pair(&level[2 * i], &level[2 * i + 1]);
        }
        n /= 2;
    }
    level[0]
}

/// One page as a snapshot holds it: its bytes, and its hashes if they were current.
#[derive(Debug)]
struct PageImage {
    bytes: Box<[u8]>,
    hashes: Option<PageHashes>,
}

impl PageImage {
    fn hashes(&self) -> PageHashes {
        self.hashes
            .clone()
            .unwrap_or_else(|| PageHashes::from_bytes(&self.bytes))
    }
}

static ZERO_PAGE: LazyLock<Arc<PageImage>> = LazyLock::new(|| {
    Arc::new(PageImage {
        bytes: vec![0u8; PAGE_BYTES].into_boxed_slice(),
        hashes: Some(PageHashes::zero()),
    })
});

/// A frozen copy of a memory: pages shared with the memory and with other snapshots.
#[derive(Clone, Debug)]
pub struct MemorySnapshot {
    pages: Vec<Arc<PageImage>>,
    max_pages: u32,
}

impl MemorySnapshot {
    /// A memory of `pages` pages holding `segments` (offset, bytes), growable to `max_pages`.
    /// The caller has checked that every segment fits.
    pub(crate) fn with_data(pages: u32, max_pages: u32, segments: &[(u32, &[u8])]) -> Self {
        let mut bytes = vec![0u8; pages as usize * PAGE_BYTES];
        for (offset, data) in segments {
            bytes[*offset as usize..][..data.len()].copy_from_slice(data);
        }
        let pages = bytes
            .chunks(PAGE_BYTES)
            .map(|page| {
                if page.iter().all(|b| *b == 0) {
                    ZERO_PAGE.clone()
                } else {
                    Arc::new(PageImage {
                        bytes: page.to_vec().into_boxed_slice(),
                        hashes: Some(PageHashes::from_bytes(page)),
                    })
                }
            })
            .collect();
        Self { pages, max_pages }
    }

    /// The number of pages.
    pub fn pages(&self) -> u32 {
        self.pages.len() as u32
    }

    /// The memory root.
    pub fn root(&self) -> B256 {
        top_tree(self.pages.iter().map(|p| p.hashes().root())).root()
    }

    /// The most pages `memory.grow` may reach (0 without a memory).
    pub fn max_pages(&self) -> u32 {
        self.max_pages
    }

    /// Bytes held by pages this snapshot does not share with `previous` (or all, without one).
    pub fn unshared_bytes(&self, previous: Option<&MemorySnapshot>) -> usize {
        self.pages
            .iter()
            .enumerate()
            .filter(|(p, page)| {
                !Arc::ptr_eq(page, &ZERO_PAGE)
                    && previous
                        .and_then(|prev| prev.pages.get(*p))
                        .is_none_or(|prev| !Arc::ptr_eq(prev, page))
            })
            .count()
            * (PAGE_BYTES + std::mem::size_of::<PageHashes>())
    }
}

fn top_tree(page_roots: impl Iterator<Item = B256>) -> MerkleTree {
    MerkleTree::new(page_roots.collect(), TOP_DEPTH, PAGE_DEPTH)
}

/// The memory of a running machine.
#[derive(Clone, Debug)]
pub struct Memory {
    bytes: Vec<u8>,
    max_pages: u32,
    /// Per page, a bit per block written since the last hash or snapshot.
    dirty: Vec<u64>,
    /// Per page, blocks whose hashes are stale although the base snapshot holds their bytes
    /// (written before a snapshot, not hashed since).
    stale: Vec<u64>,
    /// Per page, its hashes as of the last hash.
    hashes: Vec<PageHashes>,
    top: MerkleTree,
    /// The snapshot this memory last matched, and per page whether it has changed since
    /// (besides what `dirty` says).
    base: MemorySnapshot,
    changed: Vec<bool>,
}

impl Memory {
    /// A memory holding a snapshot's contents.
    pub fn from_snapshot(snapshot: &MemorySnapshot) -> Self {
        let pages = snapshot.pages.len();
        let mut bytes = vec![0u8; pages * PAGE_BYTES];
        for (p, page) in snapshot.pages.iter().enumerate() {
            if !Arc::ptr_eq(page, &ZERO_PAGE) {
                bytes[p * PAGE_BYTES..][..PAGE_BYTES].copy_from_slice(&page.bytes);
            }
        }
        let mut memory = Self {
            bytes,
            max_pages: snapshot.max_pages,
            dirty: vec![0; pages],
            hashes: vec![PageHashes::zero(); pages],
            top: top_tree(std::iter::empty()),
            stale: vec![0; pages],
            base: snapshot.clone(),
            changed: vec![false; pages],
        };
        memory.take_hashes(snapshot);
        memory
    }

    /// Takes the page hashes a snapshot holds (marking pages stored without them dirty) and
    /// rebuilds the top of the tree.
    fn take_hashes(&mut self, snapshot: &MemorySnapshot) {
        for (p, page) in snapshot.pages.iter().enumerate() {
            match &page.hashes {
                Some(hashes) => self.hashes[p] = hashes.clone(),
                None => self.stale[p] = u64::MAX,
            }
        }
        self.top = top_tree(self.hashes.iter().map(|h| h.root()));
    }

    /// The bytes, for reading.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The size in bytes.
    #[inline]
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Whether the memory has no pages.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The size in pages.
    pub fn pages(&self) -> u32 {
        (self.bytes.len() / PAGE_BYTES) as u32
    }

    /// The most pages `memory.grow` may reach.
    pub fn max_pages(&self) -> u32 {
        self.max_pages
    }

    /// The `N` bytes at `addr`, if they are all inside the memory.
    #[inline]
    pub fn read<const N: usize>(&self, addr: u64) -> Option<[u8; N]> {
        let end = addr.checked_add(N as u64)?;
        if end > self.len() {
            return None;
        }
        Some(self.bytes[addr as usize..end as usize].try_into().unwrap())
    }

    /// Writes `data` at `addr`; `false` (and nothing written) if it does not fit.
    #[inline]
    pub fn write(&mut self, addr: u64, data: &[u8]) -> bool {
        let Some(end) = addr.checked_add(data.len() as u64) else {
            return false;
        };
        if end > self.len() {
            return false;
        }
        self.bytes[addr as usize..end as usize].copy_from_slice(data);
        self.mark(addr as usize, data.len());
        true
    }

    /// Whether `[addr, addr + len)` lies inside the memory.
    #[inline]
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr.checked_add(len).is_some_and(|end| end <= self.len())
    }

    /// Copies `len` bytes from `src` to `dst` (ranges checked by the caller), as `memmove`.
    pub fn copy_within(&mut self, dst: u64, src: u64, len: u64) {
        let (dst, src, len) = (dst as usize, src as usize, len as usize);
        self.bytes.copy_within(src..src + len, dst);
        self.mark(dst, len);
    }

    /// Sets `len` bytes at `dst` to `value` (range checked by the caller).
    pub fn fill(&mut self, dst: u64, value: u8, len: u64) {
        let (dst, len) = (dst as usize, len as usize);
        self.bytes[dst..dst + len].fill(value);
        self.mark(dst, len);
    }

    #[inline]
    fn mark(&mut self, addr: usize, len: usize) {
        if len == 0 {
            return;
        }
        let first = addr / BLOCK_BYTES;
        let last = (addr + len - 1) / BLOCK_BYTES;
        for block in first..=last {
            self.dirty[block / BLOCKS_PER_PAGE] |= 1 << (block % BLOCKS_PER_PAGE);
        }
    }

    /// Grows by `delta` pages if the result stays within the cap; returns the old size.
    pub fn grow(&mut self, delta: u32, cap: u32) -> Option<u32> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > cap.min(self.max_pages).min(MAX_PAGES) {
            return None;
        }
        self.bytes.resize(new as usize * PAGE_BYTES, 0);
        self.dirty.resize(new as usize, 0);
        self.hashes.resize(new as usize, PageHashes::zero());
        self.stale.resize(new as usize, 0);
        self.changed.resize(new as usize, true);
        Some(old)
    }

    /// The memory root, rehashing what was written since the last call.
    pub fn root(&mut self) -> B256 {
        for page in 0..self.dirty.len() {
            let written = std::mem::take(&mut self.dirty[page]);
            let mut mask = written | std::mem::take(&mut self.stale[page]);
            if mask == 0 {
                continue;
            }
            if written != 0 {
                self.changed[page] = true;
            }
            if mask == u64::MAX {
                // A page restored without its hashes: rebuild it whole.
                self.hashes[page] =
                    PageHashes::from_bytes(&self.bytes[page * PAGE_BYTES..][..PAGE_BYTES]);
                mask = 0;
            }
            while mask != 0 {
                let block = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                let start = page * PAGE_BYTES + block * BLOCK_BYTES;
                let root = block_root(&self.bytes[start..start + BLOCK_BYTES]);
                self.hashes[page].set_block(block, root);
            }
            self.top.set(page, self.hashes[page].root());
        }
        // Pages added by `grow` are zero: their roots are the zero subtree the top assumes past
        // the last leaf it holds.
        self.top.root()
    }

    /// The memory root computed from the bytes alone, ignoring every cache.
    pub fn root_from_scratch(&self) -> B256 {
        top_tree(
            self.bytes
                .chunks(PAGE_BYTES)
                .map(|page| PageHashes::from_bytes(page).root()),
        )
        .root()
    }

    /// The 32-byte leaf at `index` (zero past the end of memory).
    pub fn leaf(&self, index: u64) -> [u8; LEAF_BYTES] {
        self.read::<LEAF_BYTES>(index * LEAF_BYTES as u64)
            .unwrap_or([0; LEAF_BYTES])
    }

    /// The siblings of leaf `index` up to the memory root, bottom-up (21 of them). Hashes first.
    pub fn path(&mut self, index: u64) -> Vec<B256> {
        self.root();
        let addr = index as usize * LEAF_BYTES;
        let (page, block) = (addr / PAGE_BYTES, (addr % PAGE_BYTES) / BLOCK_BYTES);
        let mut path = Vec::with_capacity(21);
        // Inside the block: rebuild its 5 levels from the bytes.
        let mut level: Vec<B256> = (0..32)
            .map(|i| {
                let leaf_index = (page * PAGE_BYTES + block * BLOCK_BYTES) / LEAF_BYTES + i;
                B256::from(self.leaf(leaf_index as u64))
            })
            .collect();
        let mut i = (addr % BLOCK_BYTES) / LEAF_BYTES;
        while level.len() > 1 {
            path.push(level[i ^ 1]);
            level = level.chunks(2).map(|p| hash_pair(&p[0], &p[1])).collect();
            i /= 2;
        }
        let hashes = self
            .hashes
            .get(page)
            .cloned()
            .unwrap_or_else(PageHashes::zero);
        path.extend(hashes.path(block));
        path.extend(self.top.path(page));
        path
    }

    /// Whether page `p` may differ from the base snapshot's.
    fn written_since_base(&self, p: usize) -> bool {
        self.changed[p] || self.dirty[p] != 0
    }

    /// A snapshot of the memory as it is: pages unchanged since the last snapshot (or restore)
    /// are shared with it. Copies bytes; hashes nothing.
    pub fn snapshot(&mut self) -> MemorySnapshot {
        let pages = (0..self.pages() as usize)
            .map(|p| {
                let shared = self
                    .base
                    .pages
                    .get(p)
                    .filter(|_| !self.written_since_base(p));
                match shared {
                    Some(page) => page.clone(),
                    None => {
                        let bytes = &self.bytes[p * PAGE_BYTES..][..PAGE_BYTES];
                        let current = self.dirty[p] | self.stale[p] == 0;
                        Arc::new(PageImage {
                            bytes: bytes.to_vec().into_boxed_slice(),
                            hashes: current.then(|| self.hashes[p].clone()),
                        })
                    }
                }
            })
            .collect();
        let snapshot = MemorySnapshot {
            pages,
            max_pages: self.max_pages,
        };
        self.base = snapshot.clone();
        self.changed.iter_mut().for_each(|c| *c = false);
        // What was written is now in the base; its hashes stay to be computed.
        for (stale, dirty) in self.stale.iter_mut().zip(&mut self.dirty) {
            *stale |= std::mem::take(dirty);
        }
        snapshot
    }

    /// Makes this memory equal to `snapshot`, copying only the pages that differ.
    pub fn restore(&mut self, snapshot: &MemorySnapshot) {
        let pages = snapshot.pages.len();
        let same: Vec<bool> = (0..pages)
            .map(|p| {
                p < self.changed.len()
                    && !self.written_since_base(p)
                    && self
                        .base
                        .pages
                        .get(p)
                        .is_some_and(|base| Arc::ptr_eq(base, &snapshot.pages[p]))
            })
            .collect();
        self.bytes.resize(pages * PAGE_BYTES, 0);
        self.dirty.resize(pages, 0);
        self.stale.resize(pages, 0);
        self.hashes.resize(pages, PageHashes::zero());
        for (p, page) in snapshot.pages.iter().enumerate() {
            // A page that stayed the same keeps its bytes and its hash state (current, or
            // stale for hashing only).
            if same[p] {
                continue;
            }
            self.bytes[p * PAGE_BYTES..][..PAGE_BYTES].copy_from_slice(&page.bytes);
            self.dirty[p] = 0;
            match &page.hashes {
                Some(hashes) => {
                    self.hashes[p] = hashes.clone();
                    self.stale[p] = 0;
                }
                None => self.stale[p] = u64::MAX,
            }
        }
        self.top = top_tree(self.hashes.iter().map(|h| h.root()));
        self.max_pages = snapshot.max_pages;
        self.base = snapshot.clone();
        self.changed = vec![false; pages];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{root, root_from_path};

    fn memory(pages: u32) -> Memory {
        Memory::from_snapshot(&MemorySnapshot::with_data(pages, 8, &[(5, b"hello")]))
    }

    fn naive_root(bytes: &[u8]) -> B256 {
        let leaves: Vec<B256> = bytes.chunks(32).map(B256::from_slice).collect();
        root(&leaves, crate::limits::MEMORY_DEPTH)
    }

    #[test]
    fn roots_match_a_naive_tree_through_writes_and_growth() {
        let mut m = memory(2);
        assert_eq!(m.root(), naive_root(m.bytes()));
        assert!(m.write(65_534, &[1, 2, 3, 4]));
        assert!(!m.write(2 * 65_536 - 2, &[1, 2, 3]));
        assert_eq!(m.root(), naive_root(m.bytes()));
        assert_eq!(m.grow(1, 1024), Some(2));
        assert!(m.write(2 * 65_536 + 40_000, &[9; 100]));
        m.fill(1000, 7, 3000);
        m.copy_within(1500, 1000, 10_000);
        assert_eq!(m.root(), naive_root(m.bytes()));
        assert_eq!(m.root(), m.root_from_scratch());
        assert_eq!(m.grow(6, 1024), None, "the module's max is 8 pages");
        assert_eq!(m.grow(1, 3), None, "the instruction's cap");
    }

    #[test]
    fn paths_lead_to_the_root() {
        let mut m = memory(3);
        assert!(m.write(70_000, &[5; 33]));
        let root = m.root();
        for index in [0u64, 2187, 2188, 6143, 6144, 65_535] {
            let path = m.path(index);
            assert_eq!(path.len(), 21);
            assert_eq!(
                root_from_path(B256::from(m.leaf(index)), index, &path),
                root
            );
        }
    }

    #[test]
    fn a_block_written_again_after_a_snapshot_is_not_shared_with_it() {
        let mut m = memory(2);
        assert!(m.write(100, b"first"));
        let s1 = m.snapshot();
        // The same block again, with no hash in between.
        assert!(m.write(100, b"again"));
        let s2 = m.snapshot();
        m.restore(&s1);
        assert_eq!(&m.bytes()[100..105], b"first");
        assert_eq!(m.root(), m.root_from_scratch());
        m.restore(&s2);
        assert_eq!(&m.bytes()[100..105], b"again");
        assert_eq!(m.root(), m.root_from_scratch());
        assert_eq!(s1.root(), {
            m.restore(&s1);
            m.root()
        });
    }

    #[test]
    fn snapshots_share_unchanged_pages_and_restore_exactly() {
        let mut m = memory(4);
        let s0 = m.snapshot();
        let r0 = s0.root();
        assert_eq!(r0, m.root());
        assert!(m.write(3 * 65_536 + 8, b"later"));
        let s1 = m.snapshot();
        assert_eq!(
            s1.unshared_bytes(Some(&s0)),
            PAGE_BYTES + std::mem::size_of::<PageHashes>(),
            "one page changed"
        );
        assert_eq!(m.grow(2, 1024), Some(4));
        assert!(m.write(5 * 65_536, b"grown"));
        let r2 = m.root();
        m.restore(&s0);
        assert_eq!(m.pages(), 4);
        assert_eq!(m.root(), r0);
        assert_eq!(m.root_from_scratch(), r0);
        assert_eq!(&m.bytes()[5..10], b"hello");
        m.restore(&s1);
        assert_eq!(&m.bytes()[3 * 65_536 + 8..][..5], b"later");
        assert_eq!(m.root(), s1.root());
        assert_eq!(m.root(), m.root_from_scratch());
        assert_ne!(r2, s1.root());
    }
}
