// ReuseRing: a few shared objects a producer refills instead of allocating
// new ones each cycle.
//
// A collector hands its results and text blocks out as shared_ptrs; the
// exporter's latest results, the published snapshot and the evaluator keep
// up to three earlier cycles alive. Once only the ring holds an object again
// (use_count 1) nobody else can reach it, and refilling it in place keeps
// its strings' and vectors' buffers: no allocation in the steady state.
//
// Thread-safety: a ring belongs to one thread; the objects it hands out are
// read by others only until they release them.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <memory>

namespace pgdr::collect {

inline constexpr size_t kReuseRingSize = 5;

template <typename T>
using ReuseRing = std::array<std::shared_ptr<T>, kReuseRingSize>;

// Whether only the ring holds `p` (then the caller may write to it).
template <typename T>
bool OnlyInRing(const std::shared_ptr<T>& p) {
  if (!p || p.use_count() != 1) return false;
  // The last other owner released it (acq_rel) before we saw the count: its
  // reads happen before our writes.
  std::atomic_thread_fence(std::memory_order_acquire);
  return true;
}

// An object of `ring` that no one else holds, to refill; when all are held
// elsewhere, an empty slot gets a new one (the ring fills over its first
// cycles), else the first slot's is left to its holders and replaced.
template <typename T>
std::shared_ptr<T> FreeInRing(ReuseRing<T>& ring) {
  for (auto& p : ring) {
    if (OnlyInRing(p)) return p;
  }
  auto slot = std::find(ring.begin(), ring.end(), nullptr);
  if (slot == ring.end()) slot = ring.begin();
  *slot = std::make_shared<T>();
  return *slot;
}

}  // namespace pgdr::collect
