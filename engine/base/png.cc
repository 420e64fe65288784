#include "engine/base/png.h"

#include <cstring>

#include "engine/base/error.h"
#include "engine/base/file_util.h"

#ifdef LETHE_HAVE_LIBPNG
#include <png.h>
#endif

namespace lethe {

#ifdef LETHE_HAVE_LIBPNG

bool PngSupported() { return true; }

namespace {

struct ReadState {
  const std::string* data;
  size_t pos;
};

void ReadCallback(png_structp png, png_bytep out, png_size_t n) {
  auto* st = static_cast<ReadState*>(png_get_io_ptr(png));
  if (st->pos + n > st->data->size()) png_error(png, "truncated PNG data");
  std::memcpy(out, st->data->data() + st->pos, n);
  st->pos += n;
}

void WriteCallback(png_structp png, png_bytep in, png_size_t n) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(in), n);
}

void FlushCallback(png_structp) {}

void ErrorCallback(png_structp png, png_const_charp msg) {
  auto* err = static_cast<std::string*>(png_get_error_ptr(png));
  if (err) *err = msg;
  png_longjmp(png, 1);
}

void WarningCallback(png_structp, png_const_charp) {}

}  // namespace

std::string EncodePng(const Image8& image) {
  if (image.channels != 1 && image.channels != 3)
    throw Error("PNG encode: channels must be 1 or 3");
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != size_t(image.width) * size_t(image.height) * size_t(image.channels))
    throw Error("PNG encode: pixel buffer does not match dimensions");
  std::string err;
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, ErrorCallback, WarningCallback);
  if (!png) throw Error("PNG encode: out of memory");
  png_infop info = png_create_info_struct(png);
  std::string out;
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw Error("PNG encode failed: " + err);
  }
  png_set_write_fn(png, &out, WriteCallback, FlushCallback);
  png_set_IHDR(png, info, png_uint_32(image.width), png_uint_32(image.height), 8,
               image.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  size_t stride = size_t(image.width) * size_t(image.channels);
  for (int y = 0; y < image.height; ++y) {
    png_write_row(png, const_cast<png_bytep>(image.pixels.data() + size_t(y) * stride));
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

bool DecodePng(const std::string& data, int channels_out, const PngLimits& limits, Image8* out,
               std::string* error) {
  if (channels_out != 1 && channels_out != 3) {
    *error = "channels_out must be 1 or 3";
    return false;
  }
  if (data.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(data.data()), 0, 8)) {
    *error = "not a PNG (bad signature)";
    return false;
  }
  std::string err;
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, ErrorCallback, WarningCallback);
  if (!png) {
    *error = "out of memory";
    return false;
  }
  png_infop info = png_create_info_struct(png);
  ReadState state{&data, 0};
  // Declared before setjmp so a longjmp leaves them in a defined state.
  std::vector<uint8_t> pixels;
  std::vector<png_bytep> rows;
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    *error = "corrupt PNG: " + (err.empty() ? std::string("decode error") : err);
    return false;
  }
  png_set_read_fn(png, &state, ReadCallback);
  png_set_user_limits(png, png_uint_32(limits.max_width), png_uint_32(limits.max_height));
  png_set_chunk_malloc_max(png, 8 * 1024 * 1024);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info);
  png_uint_32 h = png_get_image_height(png, info);
  if (int64_t(w) > limits.max_width || int64_t(h) > limits.max_height ||
      int64_t(w) * int64_t(h) > limits.max_pixels) {
    png_destroy_read_struct(&png, &info, nullptr);
    *error = "PNG too large: " + std::to_string(w) + "x" + std::to_string(h);
    return false;
  }
  int color = png_get_color_type(png, info);
  int depth = png_get_bit_depth(png, info);
  if (depth == 16) png_set_strip_16(png);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (color & PNG_COLOR_MASK_ALPHA || png_get_valid(png, info, PNG_INFO_tRNS))
    png_set_strip_alpha(png);
  bool is_gray = (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA);
  if (channels_out == 3 && is_gray) png_set_gray_to_rgb(png);
  if (channels_out == 1 && !is_gray) png_set_rgb_to_gray_fixed(png, 1, -1, -1);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  size_t rowbytes = png_get_rowbytes(png, info);
  if (rowbytes != size_t(w) * size_t(channels_out)) {
    png_destroy_read_struct(&png, &info, nullptr);
    *error = "unsupported PNG layout";
    return false;
  }
  pixels.resize(rowbytes * h);
  rows.resize(h);
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = pixels.data() + size_t(y) * rowbytes;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  out->width = int(w);
  out->height = int(h);
  out->channels = channels_out;
  out->pixels = std::move(pixels);
  return true;
}

#else  // !LETHE_HAVE_LIBPNG

bool PngSupported() { return false; }

std::string EncodePng(const Image8&) { throw Error("this build has no libpng"); }

bool DecodePng(const std::string&, int, const PngLimits&, Image8*, std::string* error) {
  *error = "this build has no libpng";
  return false;
}

#endif

void WritePngFile(const std::string& path, const Image8& image) {
  WriteFileAtomic(path, EncodePng(image));
}

}  // namespace lethe
