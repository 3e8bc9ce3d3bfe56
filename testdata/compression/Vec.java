import io.netty.buffer.*;
import org.apache.pulsar.common.api.proto.CompressionType;
import org.apache.pulsar.common.compression.*;
import java.util.Base64;
import java.nio.charset.StandardCharsets;
public class Vec {
  public static void main(String[] a) throws Exception {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 40; i++) sb.append("stargate compression vector ").append(i).append(' ');
    byte[] in = sb.toString().getBytes(StandardCharsets.UTF_8);
    System.out.println("PLAIN " + Base64.getEncoder().encodeToString(in));
    for (CompressionType t : new CompressionType[]{CompressionType.LZ4, CompressionType.ZLIB, CompressionType.ZSTD, CompressionType.SNAPPY}) {
      CompressionCodec c = CompressionCodecProvider.getCompressionCodec(t);
      ByteBuf out = c.encode(Unpooled.wrappedBuffer(in));
      byte[] b = new byte[out.readableBytes()]; out.readBytes(b);
      System.out.println(t + " " + Base64.getEncoder().encodeToString(b));
    }
  }
}
