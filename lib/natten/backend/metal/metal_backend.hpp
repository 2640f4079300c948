// The `metal` backend: plans launches (metal_plan.hpp) and hands them to a KernelExecutor. The
// executor is the only part that touches a GPU API: metal_executor.mm on Apple, the shader
// emulator in tests/metal on Linux. Both run exactly the plans this class builds.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "natten/backend.hpp"
#include "natten/backend/metal/metal_plan.hpp"

namespace natten::metal {

// A tensor the caller owns, as raw bytes. `written` marks the ones a sequence produces.
struct HostBuffer {
  void* data = nullptr;
  std::size_t bytes = 0;
  bool written = false;
};
using BufferTable = std::map<Role, HostBuffer>;

class KernelExecutor {
 public:
  virtual ~KernelExecutor() = default;
  virtual std::string device_name() const = 0;
  // Runs the launches in order (allocating the sequence's scratch buffers) and leaves the written
  // buffers updated when it returns.
  virtual void execute(const LaunchSequence& seq, const BufferTable& buffers) = 0;
  // GPU time of the last execute(), when the executor can measure it.
  virtual std::optional<double> last_gpu_seconds() const { return std::nullopt; }
};

class MetalBackend final : public Backend {
 public:
  MetalBackend(std::unique_ptr<KernelExecutor> executor, PlanOptions options = {});
  std::string name() const override { return "metal"; }
  std::string description() const override;
  std::string why_unsupported(Op op, const Problem& problem) const override;
  void forward(const Problem& problem, const NAInputs& in, Tensor& out, Tensor& lse) override;
  void backward(const Problem& problem, const NAInputs& in, const Tensor& out, const Tensor& lse,
                const Tensor& d_out, Gradients& grads) override;

  // Split ops (natten/core/split.hpp semantics). Optional tensors (rpb, additional KV and their
  // gradients) are undefined when absent. These become the overrides of Backend::qk_forward & co.
  // once the split-op interface is in the library.
  void run_qk(const Problem& problem, const Tensor& q, const Tensor& k, const Tensor& rpb, const Tensor& additional_k,
              Tensor& attention);
  void run_qk_backward(const Problem& problem, const Tensor& q, const Tensor& k, const Tensor& rpb,
                       const Tensor& additional_k, const Tensor& d_attention, Tensor& d_q, Tensor& d_k, Tensor& d_rpb,
                       Tensor& d_additional_k);
  void run_av(const Problem& problem, const Tensor& attention, const Tensor& v, const Tensor& additional_v,
              Tensor& out);
  void run_av_backward(const Problem& problem, const Tensor& attention, const Tensor& v, const Tensor& additional_v,
                       const Tensor& d_out, Tensor& d_attention, Tensor& d_v, Tensor& d_additional_v);

  KernelExecutor& executor() { return *executor_; }

 private:
  std::unique_ptr<KernelExecutor> executor_;
  PlanOptions options_;
};

}  // namespace natten::metal
