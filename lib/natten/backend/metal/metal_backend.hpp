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

  // The fused pair and the split ops (core/split.hpp semantics), each one launch sequence of
  // metal_plan.hpp. merge, varlen and the FMHA fast path have no Metal kernels: implements() says
  // so and the registry reports "not implemented" (README.md, support matrix).
  bool implements(Op op) const override;
  void qk_forward(const Problem& problem, const SplitQKInputs& in, Tensor& attention) override;
  void qk_backward(const Problem& problem, const SplitQKInputs& in, const Tensor& d_attention,
                   SplitQKGrads& grads) override;
  void av_forward(const Problem& problem, const SplitAVInputs& in, Tensor& output) override;
  void av_backward(const Problem& problem, const SplitAVInputs& in, const Tensor& d_output,
                   SplitAVGrads& grads) override;

  // The executor's GPU time of the last call (command-buffer GPUEndTime - GPUStartTime on Apple).
  std::optional<double> last_device_seconds() const override { return executor_->last_gpu_seconds(); }

  KernelExecutor& executor() { return *executor_; }

 private:
  std::unique_ptr<KernelExecutor> executor_;
  PlanOptions options_;
};

}  // namespace natten::metal
