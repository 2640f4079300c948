// The Apple side of the `metal` backend: turns launch plans (metal_plan.hpp) into Metal calls.
// Deliberately logic-free: every decision (kernel, bindings, grid, threadgroup size and memory)
// arrives in the plan, which the Linux build tests against the shader emulator. Compiled only with
// NATTEN_METAL=ON on Apple; never compiled or run by this project's CI (see README.md here).
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <map>
#include <string>

#include "natten/backend/factories.hpp"
#include "natten/backend/metal/metal_backend.hpp"
#include "natten/core/error.hpp"

namespace natten {
namespace metal {
namespace {

std::string metallib_path() {
  const char* env = std::getenv("NATTEN_METALLIB");
  return env != nullptr ? std::string(env) : std::string(NATTEN_METALLIB_PATH);
}

std::string describe(NSError* error) {
  return error != nil ? std::string([[error localizedDescription] UTF8String]) : std::string("unknown error");
}

class AppleExecutor final : public KernelExecutor {
 public:
  AppleExecutor(id<MTLDevice> device, id<MTLLibrary> library)
      : device_(device), library_(library), queue_([device newCommandQueue]) {}

  std::string device_name() const override { return [[device_ name] UTF8String]; }
  std::optional<double> last_gpu_seconds() const override { return gpu_seconds_; }

  void execute(const LaunchSequence& seq, const BufferTable& buffers) override {
    @autoreleasepool {
      std::map<Role, id<MTLBuffer>> gpu;
      for (const auto& [role, host] : buffers) {
        const NSUInteger bytes = host.bytes > 0 ? host.bytes : 16;
        gpu[role] = host.written ? [device_ newBufferWithLength:bytes options:MTLResourceStorageModeShared]
                                 : [device_ newBufferWithBytes:host.data length:bytes
                                                       options:MTLResourceStorageModeShared];
      }
      for (const Scratch& s : seq.scratch) {
        gpu[s.role] = [device_ newBufferWithLength:(s.bytes > 0 ? s.bytes : 16) options:MTLResourceStorageModePrivate];
      }
      id<MTLCommandBuffer> cb = [queue_ commandBuffer];
      // Serial dispatch: each launch sees the writes of the previous ones.
      id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoderWithDispatchType:MTLDispatchTypeSerial];
      for (const LaunchPlan& l : seq.launches) {
        id<MTLComputePipelineState> ps = pipeline(l.kernel);
        const unsigned threads = l.threads[0] * l.threads[1] * l.threads[2];
        if (threads > [ps maxTotalThreadsPerThreadgroup]) {
          throw Unsupported("metal: " + l.kernel + " needs " + std::to_string(threads) +
                            " threads per threadgroup, the pipeline allows " +
                            std::to_string([ps maxTotalThreadsPerThreadgroup]));
        }
        [enc setComputePipelineState:ps];
        for (const Binding& b : l.buffers) [enc setBuffer:gpu.at(b.role) offset:0 atIndex:b.index];
        [enc setBytes:l.args.data() length:l.args.size() atIndex:l.args_index];
        for (std::size_t i = 0; i < l.threadgroup_memory.size(); ++i) {
          if (l.threadgroup_memory[i] > [device_ maxThreadgroupMemoryLength]) {
            throw Unsupported("metal: " + l.kernel + " needs more threadgroup memory than the device has");
          }
          [enc setThreadgroupMemoryLength:l.threadgroup_memory[i] atIndex:i];
        }
        [enc dispatchThreadgroups:MTLSizeMake(l.threadgroups[0], l.threadgroups[1], l.threadgroups[2])
            threadsPerThreadgroup:MTLSizeMake(l.threads[0], l.threads[1], l.threads[2])];
      }
      [enc endEncoding];
      [cb commit];
      [cb waitUntilCompleted];
      if ([cb status] != MTLCommandBufferStatusCompleted) fail("metal: command buffer failed: {}", describe([cb error]));
      gpu_seconds_ = [cb GPUEndTime] - [cb GPUStartTime];
      for (const auto& [role, host] : buffers) {
        if (host.written && host.bytes > 0) std::memcpy(host.data, [gpu.at(role) contents], host.bytes);
      }
    }
  }

 private:
  id<MTLComputePipelineState> pipeline(const std::string& name) {
    auto it = pipelines_.find(name);
    if (it != pipelines_.end()) return it->second;
    id<MTLFunction> fn = [library_ newFunctionWithName:[NSString stringWithUTF8String:name.c_str()]];
    if (fn == nil) fail("metal: kernel {} is not in {}", name, metallib_path());
    NSError* error = nil;
    id<MTLComputePipelineState> ps = [device_ newComputePipelineStateWithFunction:fn error:&error];
    if (ps == nil) fail("metal: cannot build pipeline {}: {}", name, describe(error));
    pipelines_[name] = ps;
    return ps;
  }

  id<MTLDevice> device_;
  id<MTLLibrary> library_;
  id<MTLCommandQueue> queue_;
  std::map<std::string, id<MTLComputePipelineState>> pipelines_;
  std::optional<double> gpu_seconds_;
};

id<MTLLibrary> load_library(id<MTLDevice> device, std::string* why) {
  NSError* error = nil;
  NSURL* url = [NSURL fileURLWithPath:[NSString stringWithUTF8String:metallib_path().c_str()]];
  id<MTLLibrary> lib = [device newLibraryWithURL:url error:&error];
  if (lib == nil) *why = "cannot load " + metallib_path() + ": " + describe(error);
  return lib;
}

}  // namespace
}  // namespace metal

std::string metal_unavailable_reason() {
  @autoreleasepool {
    id<MTLDevice> device = MTLCreateSystemDefaultDevice();
    if (device == nil) return "no Metal device on this machine";
    std::string why;
    if (metal::load_library(device, &why) == nil) return why;
    return {};
  }
}

std::unique_ptr<Backend> make_metal_backend() {
  @autoreleasepool {
    id<MTLDevice> device = MTLCreateSystemDefaultDevice();
    if (device == nil) throw Unsupported("metal: no Metal device on this machine");
    std::string why;
    id<MTLLibrary> lib = metal::load_library(device, &why);
    if (lib == nil) throw Unsupported("metal: " + why);
    return std::make_unique<metal::MetalBackend>(std::make_unique<metal::AppleExecutor>(device, lib));
  }
}

}  // namespace natten
