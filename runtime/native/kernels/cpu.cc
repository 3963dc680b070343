#include "cpu.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sys/syscall.h>
#include <unistd.h>
#include <thread>
#include <vector>

namespace moe {

namespace {

// Linux hands out AMX tile state only on request (arch_prctl ARCH_REQ_XCOMP_PERM, XTILEDATA).
bool amx_permitted() {
#ifdef SYS_arch_prctl
  constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

KernelPath detect() {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  if (avx512 && __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16") && amx_permitted())
    return KernelPath::Amx;
  if (avx512) return KernelPath::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
    return KernelPath::Avx2;
  return KernelPath::Reference;
}

KernelPath initial_path() {
  KernelPath best = detect();
  const char* env = std::getenv("MOE_KERNELS");
  if (!env) return best;
  if (!std::strcmp(env, "reference")) return KernelPath::Reference;
  if (!std::strcmp(env, "avx2") && best >= KernelPath::Avx2) return KernelPath::Avx2;
  if (!std::strcmp(env, "avx512") && best >= KernelPath::Avx512) return KernelPath::Avx512;
  return best;  // "auto", "amx" or an unknown value: best available
}

std::atomic<int> g_path{static_cast<int>(initial_path())};

// A small fork-join pool: the caller runs chunks too, workers pick chunks by an atomic counter. Each call's state
// lives in a Job on the caller's stack; a worker joins a call under the lock (counted in active_) and the caller
// returns only once no worker is inside it, so a late worker can never take a chunk of the next call (which ran
// chunks twice and left the caller waiting forever).
class Pool {
 public:
  Pool() {
    int n = 0;
    if (const char* env = std::getenv("MOE_NUM_THREADS")) n = std::atoi(env);
    if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
    if (n <= 0) n = 1;
    if (n > 256) n = 256;
    size_ = n;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return size_; }

  void run(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
    if (n == 0) return;
    if (grain == 0) grain = 1;
    size_t chunks = (n + grain - 1) / grain;
    size_t max_chunks = static_cast<size_t>(size_) * 4;
    if (chunks > max_chunks) chunks = max_chunks;
    // A call from inside a chunk runs inline (the pool is busy with the outer call, whose lock this thread holds or
    // waits behind): kernels can split work at the outer level, e.g. one MoE expert per chunk.
    if (chunks <= 1 || size_ == 1 || in_chunk_) {
      fn(0, n);
      return;
    }
    std::lock_guard<std::mutex> serial(serial_);
    Job job{&fn, n, chunks};
    {
      std::lock_guard<std::mutex> lk(m_);
      job_ = &job;
      ++generation_;
    }
    cv_.notify_all();
    work(job);
    std::unique_lock<std::mutex> lk(m_);
    job_ = nullptr;  // from here no worker joins this call
    done_cv_.wait(lk, [&] { return active_ == 0 && job.done.load() == job.chunks; });
  }

 private:
  struct Job {
    const std::function<void(size_t, size_t)>* fn;
    size_t n, chunks;
    std::atomic<size_t> next{0}, done{0};
  };

  static void work(Job& j) {
    in_chunk_ = true;
    for (;;) {
      size_t c = j.next.fetch_add(1);
      if (c >= j.chunks) break;
      size_t b = j.n * c / j.chunks, e = j.n * (c + 1) / j.chunks;
      (*j.fn)(b, e);
      j.done.fetch_add(1);
    }
    in_chunk_ = false;
  }
  static thread_local bool in_chunk_;
  void loop() {
    size_t seen = 0;
    for (;;) {
      Job* j;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        j = job_;
        if (!j) continue;  // woke after that call had all its chunks taken
        ++active_;
      }
      work(*j);
      {
        std::lock_guard<std::mutex> lk(m_);
        --active_;
      }
      done_cv_.notify_all();
    }
  }

  int size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex m_, serial_;
  std::condition_variable cv_, done_cv_;
  bool stop_ = false;
  size_t generation_ = 0;
  Job* job_ = nullptr;
  int active_ = 0;
};

thread_local bool Pool::in_chunk_ = false;

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static destruction order
  return *p;
}

}  // namespace

KernelPath detected_path() {
  static const KernelPath p = detect();
  return p;
}
KernelPath current_path() { return static_cast<KernelPath>(g_path.load()); }
bool set_kernel_path(KernelPath p) {
  if (p > detected_path()) return false;
  g_path.store(static_cast<int>(p));
  return true;
}
const char* path_name(KernelPath p) {
  switch (p) {
    case KernelPath::Reference: return "reference";
    case KernelPath::Avx2: return "avx2";
    case KernelPath::Avx512: return "avx512";
    case KernelPath::Amx: return "amx";
  }
  return "unknown";
}

void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  pool().run(n, grain, fn);
}
int num_threads() { return pool().size(); }

}  // namespace moe
