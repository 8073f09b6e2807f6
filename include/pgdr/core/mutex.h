// Mutexes the compiler checks: Clang's thread-safety analysis
// (-Wthread-safety, run by scripts/test.sh's clang build) proves that every
// member marked PGDR_GUARDED_BY(mu_) is touched only with mu_ held, and that
// functions marked PGDR_REQUIRES(mu_) are called with it. libstdc++'s
// std::mutex carries no such annotations, hence these thin wrappers; with GCC
// the macros expand to nothing and the classes cost what std::mutex costs.
//
// Waiting: std::condition_variable_any works with MutexLock (it is
// BasicLockable), e.g. `MutexLock lock(mu_); cv_.wait(lock, [&] { ... });`.
// The analysis cannot see through the predicate lambda; mark such lambdas
// PGDR_NO_THREAD_SAFETY_ANALYSIS only when needed, never whole functions.
//
// Thread-safety: these are the synchronisation primitives themselves.
#pragma once

#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define PGDR_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define PGDR_THREAD_ANNOTATION(x)
#endif

#define PGDR_CAPABILITY(x) PGDR_THREAD_ANNOTATION(capability(x))
#define PGDR_SCOPED_CAPABILITY PGDR_THREAD_ANNOTATION(scoped_lockable)
#define PGDR_GUARDED_BY(x) PGDR_THREAD_ANNOTATION(guarded_by(x))
#define PGDR_PT_GUARDED_BY(x) PGDR_THREAD_ANNOTATION(pt_guarded_by(x))
#define PGDR_REQUIRES(...) PGDR_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define PGDR_REQUIRES_SHARED(...) PGDR_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define PGDR_EXCLUDES(...) PGDR_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define PGDR_ACQUIRE(...) PGDR_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define PGDR_ACQUIRE_SHARED(...) PGDR_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define PGDR_RELEASE(...) PGDR_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define PGDR_RELEASE_SHARED(...) PGDR_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define PGDR_RELEASE_GENERIC(...) PGDR_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define PGDR_RETURN_CAPABILITY(x) PGDR_THREAD_ANNOTATION(lock_returned(x))
#define PGDR_NO_THREAD_SAFETY_ANALYSIS PGDR_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace pgdr::core {

class PGDR_CAPABILITY("mutex") Mutex {
 public:
  void lock() PGDR_ACQUIRE() { mu_.lock(); }
  void unlock() PGDR_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Readers share it, a writer excludes everyone.
class PGDR_CAPABILITY("mutex") SharedMutex {
 public:
  void lock() PGDR_ACQUIRE() { mu_.lock(); }
  void unlock() PGDR_RELEASE() { mu_.unlock(); }
  void lock_shared() PGDR_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void unlock_shared() PGDR_RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds a Mutex (or a SharedMutex exclusively) for its scope. lock()/unlock()
// exist for std::condition_variable_any, which releases it while waiting.
template <typename M>
class PGDR_SCOPED_CAPABILITY BasicLock {
 public:
  explicit BasicLock(M& mu) PGDR_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~BasicLock() PGDR_RELEASE() {
    if (held_) mu_.unlock();
  }
  BasicLock(const BasicLock&) = delete;
  BasicLock& operator=(const BasicLock&) = delete;

  void lock() PGDR_ACQUIRE() {
    mu_.lock();
    held_ = true;
  }
  void unlock() PGDR_RELEASE() {
    held_ = false;
    mu_.unlock();
  }

 private:
  M& mu_;
  bool held_ = true;
};
using MutexLock = BasicLock<Mutex>;
using WriterLock = BasicLock<SharedMutex>;

// Holds a SharedMutex shared for its scope.
class PGDR_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) PGDR_ACQUIRE_SHARED(mu) : mu_(mu) { mu_.lock_shared(); }
  ~ReaderLock() PGDR_RELEASE() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace pgdr::core
