# natten_warnings(target): the project's warning set, as errors in our own code.
function(natten_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
                                           -Wnon-virtual-dtor -Wold-style-cast -Werror)
endfunction()
