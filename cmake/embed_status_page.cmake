# Embeds gateway/admin/status_page.html into the binary, run at build time (cmake -P):
#   cmake -DINPUT=status_page.html -DOUTPUT=status_page_data.cpp -P embed_status_page.cmake
# The page's one inline <script> and one inline <style> are allowed by the Content-Security-Policy
# through their SHA-256 hashes, computed here from the same bytes the binary serves, so the policy
# needs neither 'unsafe-inline' nor a nonce (which would make every answer different) and the page
# stays one file. Carriage returns are dropped first: a browser's HTML parser normalizes CRLF to
# LF before it hashes a script, so a checkout with CRLF line ends would otherwise not match.
cmake_minimum_required(VERSION 3.16)

if(NOT INPUT OR NOT OUTPUT)
  message(FATAL_ERROR "embed_status_page.cmake: INPUT and OUTPUT must be set")
endif()

# The text between the only `<${tag}>` and its `</${tag}>` (exactly so written: no attributes).
function(inline_element page tag out)
  string(FIND "${page}" "<${tag}" first)
  string(FIND "${page}" "<${tag}" last REVERSE)
  string(FIND "${page}" "<${tag}>" open)
  string(FIND "${page}" "</${tag}>" close)
  if(first EQUAL -1 OR NOT first EQUAL last OR NOT open EQUAL first OR close LESS open)
    message(FATAL_ERROR "${INPUT}: needs exactly one <${tag}> element, without attributes")
  endif()
  string(LENGTH "<${tag}>" tag_length)
  math(EXPR start "${open} + ${tag_length}")
  math(EXPR length "${close} - ${start}")
  string(SUBSTRING "${page}" ${start} ${length} text)
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# CSP's hash source: 'sha256-' and the base64 of the digest's 32 bytes.
function(csp_sha256 text out)
  set(alphabet "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
  string(SHA256 hex "${text}")
  set(base64 "")
  foreach(offset RANGE 0 63 6)  # three bytes (six hex digits) make four base64 digits
    string(SUBSTRING "${hex}" ${offset} 6 chunk)
    string(LENGTH "${chunk}" digits)
    set(digits_out 4)
    if(digits EQUAL 4)  # the last two bytes: three digits and one '='
      set(chunk "${chunk}00")
      set(digits_out 3)
    endif()
    math(EXPR value "0x${chunk}")
    foreach(shift 18 12 6 0)
      if(digits_out GREATER 0)
        math(EXPR index "(${value} >> ${shift}) & 63")
        string(SUBSTRING "${alphabet}" ${index} 1 digit)
        string(APPEND base64 "${digit}")
        math(EXPR digits_out "${digits_out} - 1")
      endif()
    endforeach()
  endforeach()
  set(${out} "sha256-${base64}=" PARENT_SCOPE)
endfunction()

file(READ "${INPUT}" page)
string(REPLACE "\r" "" page "${page}")
inline_element("${page}" "script" script)
inline_element("${page}" "style" style)
csp_sha256("${script}" script_hash)
csp_sha256("${style}" style_hash)

# The bytes as a C array: hex, two digits a byte, CRs dropped (0d can only be a whole byte once
# the digits are split in pairs).
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REPLACE "0x0d," "" bytes "${bytes}")
string(REPEAT "0x..," 16 line)  # CMake's regular expressions have no {n}
string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")

file(WRITE "${OUTPUT}"
"// Generated from gateway/admin/status_page.html by cmake/embed_status_page.cmake: do not edit.
#include \"admin/status_page.hpp\"

namespace lwgate::admin {

namespace {

constexpr unsigned char page_bytes[] = {
    ${bytes}
};

}  // namespace

std::string_view status_page_html() {
    return {reinterpret_cast<const char*>(page_bytes), sizeof page_bytes};
}

std::string_view status_page_script_hash() {
    return \"${script_hash}\";
}

std::string_view status_page_style_hash() {
    return \"${style_hash}\";
}

}  // namespace lwgate::admin
")
